import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import type { DatabaseConfig } from '../config.js';

/**
 * Migrations live in code, not in files found at run time, so the same list runs from `src/`
 * under tsx and from `dist/` after a build. Names sort in the order they apply. Columns use
 * types both dialects share; unix-second timestamps are `bigint` (decoded to numbers for pg).
 */
const migrations = (dialect: DatabaseConfig['dialect']): Record<string, Migration> => {
  // Ids sort byte-wise on both dialects: PostgreSQL's default collation might not.
  const idColumn = dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
  return {
    '0001_accounts_keys_customers': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('accounts')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('stripe_account_id', 'text')
          .addColumn('created', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('api_keys')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
          .addColumn('mode', 'text', (c) => c.notNull().check(sql`mode in ('test', 'live')`))
          .addColumn('secret_hash', 'text', (c) => c.notNull().unique())
          .addColumn('secret_start', 'text', (c) => c.notNull())
          .addColumn('created', 'bigint', (c) => c.notNull())
          .addColumn('revoked', 'bigint')
          .execute();
        await db.schema
          .createTable('customers')
          .addColumn('id', idColumn, (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
          .addColumn('mode', 'text', (c) => c.notNull().check(sql`mode in ('test', 'live')`))
          .addColumn('email', 'text', (c) => c.notNull())
          .addColumn('email_lower', 'text', (c) => c.notNull())
          .addColumn('first_name', 'text', (c) => c.notNull())
          .addColumn('last_name', 'text', (c) => c.notNull())
          .addColumn('phone', 'text')
          .addColumn('company_name', 'text')
          .addColumn('notes', 'text')
          .addColumn('metadata', 'text')
          .addColumn('stripe_customer_id', 'text')
          .addColumn('created', 'bigint', (c) => c.notNull())
          .addColumn('updated', 'bigint', (c) => c.notNull())
          .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
          .execute();
        // Every list is one account's one mode, newest first: this index serves it by keyset.
        await db.schema
          .createIndex('customers_account_mode_id')
          .on('customers')
          .columns(['account_id', 'mode', 'id'])
          .execute();
        await db.schema
          .createIndex('customers_account_mode_email')
          .on('customers')
          .columns(['account_id', 'mode', 'email_lower', 'id'])
          .execute();
      },
    },
    '0003_jobs': {
      async up(db: Kysely<unknown>) {
        // The Stripe outbox. `seq` orders jobs across processes (a ULID is only monotonic within
        // one); times here are unix milliseconds, for backoff and leases.
        await db.schema
          .createTable('jobs')
          .addColumn('seq', dialect === 'postgres' ? 'bigserial' : 'integer', (c) =>
            dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
          )
          .addColumn('id', 'text', (c) => c.notNull().unique())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('customer_id', idColumn, (c) => c.notNull())
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('mode', 'text', (c) => c.notNull().check(sql`mode in ('test', 'live')`))
          .addColumn('payload', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) =>
            c
              .notNull()
              .check(sql`state in ('queued', 'running', 'succeeded', 'failed', 'dead', 'cancelled')`),
          )
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('run_at', 'bigint', (c) => c.notNull())
          .addColumn('locked_by', 'text')
          .addColumn('locked_until', 'bigint')
          .addColumn('first_attempt_at', 'bigint')
          .addColumn('attempted_at', 'bigint')
          .addColumn('last_error', 'text')
          .addColumn('last_error_at', 'bigint')
          .addColumn('note', 'text')
          .addColumn('created', 'bigint', (c) => c.notNull())
          .addColumn('finished_at', 'bigint')
          .execute();
        // Per-customer order: "is there an earlier unfinished job for this customer?"
        await db.schema.createIndex('jobs_customer_seq').on('jobs').columns(['customer_id', 'seq']).execute();
        await db.schema.createIndex('jobs_state_run_at').on('jobs').columns(['state', 'run_at']).execute();
        // Where each provisioned customer lives in Stripe. It outlives the customer row until the
        // Stripe customer is deleted, and holds no personal data.
        await db.schema
          .createTable('stripe_customers')
          .addColumn('customer_id', idColumn, (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('mode', 'text', (c) => c.notNull().check(sql`mode in ('test', 'live')`))
          .addColumn('stripe_account_id', 'text', (c) => c.notNull())
          .addColumn('stripe_customer_id', 'text', (c) => c.notNull())
          .addColumn('metadata_keys', 'text', (c) => c.notNull())
          .addColumn('created', 'bigint', (c) => c.notNull())
          .addColumn('updated', 'bigint', (c) => c.notNull())
          .execute();
      },
    },
  };
};

class InCodeProvider implements MigrationProvider {
  constructor(private readonly dialect: DatabaseConfig['dialect']) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations(this.dialect);
  }
}

/** Applies every pending migration; throws with the failing migration's error. */
export async function migrateToLatest(
  db: Kysely<unknown>,
  dialect: DatabaseConfig['dialect'],
): Promise<string[]> {
  // Kysely looks for its own bookkeeping tables in every schema unless told which one, so a
  // second schema in the same database (one per test suite, or two deployments side by side)
  // would find the first one's tables and never create its own. Pin them to this connection's.
  const schema =
    dialect === 'postgres'
      ? (await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db)).rows[0]?.schema
      : undefined;
  const migrator = new Migrator({
    db,
    provider: new InCodeProvider(dialect),
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error;
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
