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
    '0002_idempotency': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('idempotency_keys')
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
          .addColumn('mode', 'text', (c) => c.notNull().check(sql`mode in ('test', 'live')`))
          .addColumn('key', 'text', (c) => c.notNull())
          .addColumn('method', 'text', (c) => c.notNull())
          .addColumn('path', 'text', (c) => c.notNull())
          .addColumn('params_hash', 'text')
          .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('in_flight', 'done')`))
          .addColumn('lease_token', 'text')
          .addColumn('lease_expires_ms', 'bigint')
          .addColumn('status', 'integer')
          .addColumn('body', 'text')
          .addColumn('customer_id', 'text')
          .addColumn('created', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('idempotency_keys_pk', ['account_id', 'mode', 'key'])
          .execute();
        // The retention sweep walks records by age.
        await db.schema
          .createIndex('idempotency_keys_created')
          .on('idempotency_keys')
          .column('created')
          .execute();
        // Deleting a customer finds the stored responses that hold it.
        await db.schema
          .createIndex('idempotency_keys_customer')
          .on('idempotency_keys')
          .columns(['account_id', 'mode', 'customer_id'])
          .where(sql.ref('customer_id'), 'is not', null)
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
  const migrator = new Migrator({ db, provider: new InCodeProvider(dialect) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error;
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
