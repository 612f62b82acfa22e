import { type Kysely, type RawBuilder, sql } from 'kysely';

// The portal's tables (migration 0010), in a file of their own to keep migrations.ts short.

export async function createPortalTables(db: Kysely<unknown>, idColumn: RawBuilder<unknown>): Promise<void> {
  // A merchant's link into the portal (source 'api') or a customer's sign-in by email
  // ('login'), and the browser session it starts. Link tokens and browser session ids are
  // stored only as SHA-256 hashes. Times are unix seconds.
  await db.schema
    .createTable('portal_sessions')
    .addColumn('id', idColumn, (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('mode', 'text', (c) => c.notNull().check(sql`mode in ('test', 'live')`))
    .addColumn('customer_id', idColumn, (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull().check(sql`source in ('api', 'login')`))
    .addColumn('return_url', 'text')
    .addColumn('token_hash', 'text', (c) => c.unique())
    .addColumn('browser_hash', 'text', (c) => c.unique())
    .addColumn('created', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('opened_at', 'bigint')
    .addColumn('last_active_at', 'bigint')
    .addColumn('ended_at', 'bigint')
    .addColumn('revoked_at', 'bigint')
    .execute();
  await db.schema
    .createIndex('portal_sessions_customer_id')
    .on('portal_sessions')
    .columns(['account_id', 'mode', 'customer_id', 'id'])
    .execute();
  // One request for a link and a code by mail: to sign in, or to confirm a new address.
  // The token and code are made by the mail job and stored only as hashes; the address
  // only as a hash too (for the per-address limit), except a new address waiting for its
  // confirmation and, until it is told, the old one.
  await db.schema
    .createTable('portal_sign_ins')
    .addColumn('id', idColumn, (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('mode', 'text', (c) => c.notNull().check(sql`mode in ('test', 'live')`))
    .addColumn('purpose', 'text', (c) => c.notNull().check(sql`purpose in ('login', 'email_change')`))
    .addColumn('address_hash', 'text', (c) => c.notNull())
    .addColumn('client_hash', 'text', (c) => c.notNull())
    .addColumn('device_hash', 'text', (c) => c.notNull())
    .addColumn('customer_ids', 'text', (c) => c.notNull())
    .addColumn('session_id', idColumn)
    .addColumn('new_email', 'text')
    .addColumn('old_email', 'text')
    .addColumn('mailed', 'integer', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.unique())
    .addColumn('code_hash', 'text')
    .addColumn('choice_hash', 'text', (c) => c.unique())
    .addColumn('failed_codes', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('used_at', 'bigint')
    .addColumn('voided_at', 'bigint')
    .execute();
  await db.schema
    .createIndex('portal_sign_ins_address')
    .on('portal_sign_ins')
    .columns(['address_hash', 'created'])
    .execute();
  await db.schema
    .createIndex('portal_sign_ins_client')
    .on('portal_sign_ins')
    .columns(['client_hash', 'created'])
    .execute();
  await db.schema
    .createIndex('portal_sign_ins_device')
    .on('portal_sign_ins')
    .columns(['device_hash'])
    .execute();
}
