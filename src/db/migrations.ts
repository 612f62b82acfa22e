import { type Kysely, type Migration, sql } from 'kysely';
import type { DatabaseConfig } from '../config.js';
import { eventsWithRowid, keyEventsByOwner } from './migrations.events.js';
import { createPortalTables } from './migrations.portal.js';
import { createSearchTables, splitSearchIndex, trigramTablesWithoutSizes } from './migrations.search.js';
import { indexWindows } from './migrations.search-windows.js';

/**
 * Migrations live in code, not in files found at run time, so the same list runs from `src/`
 * under tsx and from `dist/` after a build. Names sort in the order they apply. Columns use
 * types both dialects share; unix-second timestamps are `bigint` (decoded to numbers for pg).
 */
export const migrations = (dialect: DatabaseConfig['dialect']): Record<string, Migration> => {
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
    '0004_webhook_endpoints': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('webhook_endpoints')
          .addColumn('id', idColumn, (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
          .addColumn('mode', 'text', (c) => c.notNull().check(sql`mode in ('test', 'live')`))
          .addColumn('url', 'text', (c) => c.notNull())
          .addColumn('enabled_events', 'text', (c) => c.notNull())
          .addColumn('description', 'text')
          .addColumn('metadata', 'text')
          .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('enabled', 'disabled')`))
          .addColumn('api_version', 'text', (c) => c.notNull())
          .addColumn('created', 'bigint', (c) => c.notNull())
          .addColumn('updated', 'bigint', (c) => c.notNull())
          .execute();
        // Lists (newest first, by keyset) and the per-account-and-mode count behind the limit.
        await db.schema
          .createIndex('webhook_endpoints_account_mode_id')
          .on('webhook_endpoints')
          .columns(['account_id', 'mode', 'id'])
          .execute();
        await db.schema
          .createTable('webhook_endpoint_secrets')
          .addColumn('id', idColumn, (c) => c.primaryKey())
          .addColumn('endpoint_id', idColumn, (c) =>
            c.notNull().references('webhook_endpoints.id').onDelete('cascade'),
          )
          .addColumn('secret', 'text', (c) => c.notNull())
          .addColumn('created', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint')
          .execute();
        await db.schema
          .createIndex('webhook_endpoint_secrets_endpoint')
          .on('webhook_endpoint_secrets')
          .columns(['endpoint_id', 'id'])
          .execute();
      },
    },
    '0005_events': {
      async up(db: Kysely<unknown>) {
        // The event log. Rows outlive their customer (erased to a stub on delete) until pruned.
        await db.schema
          .createTable('events')
          .addColumn('id', idColumn, (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('mode', 'text', (c) => c.notNull().check(sql`mode in ('test', 'live')`))
          .addColumn('sequence', 'bigint', (c) => c.notNull())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('object_id', idColumn, (c) => c.notNull())
          .addColumn('created', 'bigint', (c) => c.notNull())
          .addColumn('api_version', 'text', (c) => c.notNull())
          .addColumn('data', 'text', (c) => c.notNull())
          .addColumn('request_id', 'text')
          .addColumn('idempotency_key', 'text')
          .addColumn('source', 'text', (c) => c.notNull())
          .execute();
        // The feed (`sequence_after`); unique, so a sequence can never be taken twice.
        await db.schema
          .createIndex('events_account_mode_sequence')
          .on('events')
          .columns(['account_id', 'mode', 'sequence'])
          .unique()
          .execute();
        // The list, newest first by keyset on the id.
        await db.schema
          .createIndex('events_account_mode_id')
          .on('events')
          .columns(['account_id', 'mode', 'id'])
          .execute();
        // One customer's history (`object_id`), and its erasure when it is deleted.
        await db.schema
          .createIndex('events_account_mode_object')
          .on('events')
          .columns(['account_id', 'mode', 'object_id', 'id'])
          .execute();
        await db.schema
          .createTable('event_sequences')
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('mode', 'text', (c) => c.notNull().check(sql`mode in ('test', 'live')`))
          .addColumn('last', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('event_sequences_pk', ['account_id', 'mode'])
          .execute();
      },
    },
    '0006_deliveries': {
      async up(db: Kysely<unknown>) {
        // Jobs are ordered per key rather than per customer: a Stripe job's key is its customer,
        // a webhook delivery's is `<endpoint>:<customer>`, so neither kind ever waits on the other.
        await db.schema
          .alterTable('jobs')
          .addColumn('ordering_key', 'text', (c) => c.notNull().defaultTo(''))
          .execute();
        await sql`update jobs set ordering_key = customer_id`.execute(db);
        await db.schema
          .createIndex('jobs_ordering_key_seq')
          .on('jobs')
          .columns(['ordering_key', 'seq'])
          .execute();
        // A delivery's event and endpoint, so pending counts per event and per endpoint are lookups.
        await db.schema.alterTable('jobs').addColumn('event_id', idColumn).execute();
        await db.schema.alterTable('jobs').addColumn('endpoint_id', idColumn).execute();
        await db.schema.createIndex('jobs_event').on('jobs').columns(['event_id']).execute();
        await db.schema
          .createIndex('jobs_endpoint_state')
          .on('jobs')
          .columns(['endpoint_id', 'state'])
          .execute();
        // Since when every attempt to the endpoint has failed (unix ms); null after a success.
        await db.schema.alterTable('webhook_endpoints').addColumn('failing_since', 'bigint').execute();
        // One row per delivery attempt; never a request or response body.
        await db.schema
          .createTable('webhook_attempts')
          .addColumn('id', idColumn, (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('mode', 'text', (c) => c.notNull().check(sql`mode in ('test', 'live')`))
          .addColumn('endpoint_id', idColumn, (c) => c.notNull())
          .addColumn('event_id', idColumn, (c) => c.notNull())
          .addColumn('attempt', 'integer', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('succeeded', 'failed')`))
          .addColumn('http_status', 'integer')
          .addColumn('error', 'text')
          .addColumn('duration_ms', 'integer', (c) => c.notNull())
          .addColumn('created', 'bigint', (c) => c.notNull())
          .addColumn('next_attempt_at', 'bigint')
          .execute();
        await db.schema
          .createIndex('webhook_attempts_endpoint_id')
          .on('webhook_attempts')
          .columns(['endpoint_id', 'id'])
          .execute();
        await db.schema
          .createIndex('webhook_attempts_endpoint_event')
          .on('webhook_attempts')
          .columns(['endpoint_id', 'event_id', 'status'])
          .execute();
      },
    },
    '0007_jobs_unfinished': {
      async up(db: Kysely<unknown>) {
        // The claim looks for the oldest unfinished job. Ordered by `seq` alone, the database
        // walks every finished job before it (a busy delivery lane leaves thousands), once per
        // claim; this index holds only the unfinished ones, in claim order.
        await db.schema
          .createIndex('jobs_unfinished_seq')
          .on('jobs')
          .columns(['seq'])
          .where(sql.ref('state'), 'in', sql`('queued', 'running')`)
          .execute();
      },
    },
    '0008_stripe_customers_by_stripe_id': {
      async up(db: Kysely<unknown>) {
        // `stripe import` and backfill ask which LuniPay customer a connected account's Stripe
        // customer is linked to, and walk one connected account's links.
        // What was last pushed, so connecting an account again pushes only what changed.
        await db.schema.alterTable('stripe_customers').addColumn('pushed_version', 'integer').execute();
        await db.schema
          .createIndex('stripe_customers_account_stripe_id')
          .on('stripe_customers')
          .columns(['account_id', 'mode', 'stripe_account_id', 'stripe_customer_id'])
          .execute();
        await db.schema
          .createIndex('stripe_customers_account_customer')
          .on('stripe_customers')
          .columns(['account_id', 'mode', 'stripe_account_id', 'customer_id'])
          .execute();
      },
    },
    '0009_customer_search': {
      async up(db: Kysely<unknown>) {
        await createSearchTables(db, dialect, idColumn);
      },
    },
    '0010_portal': {
      async up(db: Kysely<unknown>) {
        await createPortalTables(db, idColumn);
      },
    },
    '0011_jobs_due': {
      async up(db: Kysely<unknown>) {
        // The claim walks one type's jobs of one state in the order they fell due and stops at
        // the first it may take (jobs.store.ts findClaimable). `seq` is in it so that the index
        // gives the claim's whole order: without it PostgreSQL sorted every due job instead of
        // walking. It replaces the walk in `seq` order, which the claim no longer makes.
        await db.schema
          .createIndex('jobs_type_state_run_at')
          .on('jobs')
          .columns(['type', 'state', 'run_at', 'seq'])
          .execute();
        await db.schema.dropIndex('jobs_unfinished_seq').execute();
      },
    },
    '0012_customer_search_fts_per_column': {
      async up(db: Kysely<unknown>) {
        await splitSearchIndex(db, dialect);
      },
    },
    '0013_events_keyed_by_owner': {
      async up(db: Kysely<unknown>) {
        await keyEventsByOwner(db, dialect, idColumn);
      },
    },
    '0014_events_with_rowid': {
      async up(db: Kysely<unknown>) {
        await eventsWithRowid(db, dialect, idColumn);
      },
    },
    '0015_customer_search_phone_windows': {
      async up(db: Kysely<unknown>) {
        await indexWindows(db, dialect, 'phone');
      },
    },
    '0016_customer_search_fts_without_sizes': {
      async up(db: Kysely<unknown>) {
        await trigramTablesWithoutSizes(db, dialect);
      },
    },
    '0017_customer_search_email_windows': {
      async up(db: Kysely<unknown>) {
        await indexWindows(db, dialect, 'email');
      },
    },
  };
};
