import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { DatabaseConfig } from '../config.js';

/**
 * Events keyed by their owner: the primary key becomes (account_id, mode, id).
 *
 * Every read of an event names its account and mode (retrieve, list, the feed, a delivery's
 * job), so the key on `id` alone served nothing the (account_id, mode, id) index did not, and
 * each event paid for both. On SQLite the table becomes WITHOUT ROWID, clustered on that key: an
 * event was five B-trees (the rowid table, the key on id and three indexes), now three (the table,
 * the sequence and the object). On PostgreSQL the key's index replaces the list's, four indexes
 * become three.
 *
 * Ids grow with time, so within an owner new events go at the end of its range of the key, and
 * retention prunes each owner's oldest range (events.store.ts pruneEvents).
 */
export async function keyEventsByOwner(
  db: Kysely<unknown>,
  dialect: DatabaseConfig['dialect'],
  idColumn: RawBuilder<unknown>,
): Promise<void> {
  if (dialect === 'postgres') {
    await sql`alter table events drop constraint events_pkey`.execute(db);
    await sql`alter table events add constraint events_pkey primary key (account_id, mode, id)`.execute(db);
    await db.schema.dropIndex('events_account_mode_id').execute();
    return;
  }
  // SQLite cannot change a table's key: the rows move to a new table, which takes the old name.
  await db.schema
    .createTable('events_by_owner')
    .addColumn('id', idColumn, (c) => c.notNull())
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
    .addPrimaryKeyConstraint('events_pk', ['account_id', 'mode', 'id'])
    .modifyEnd(sql`without rowid`)
    .execute();
  await sql`insert into events_by_owner (id, account_id, mode, sequence, type, object_id, created, api_version, data, request_id, idempotency_key, source)
    select id, account_id, mode, sequence, type, object_id, created, api_version, data, request_id, idempotency_key, source from events`.execute(
    db,
  );
  await db.schema.dropTable('events').execute();
  await sql`alter table events_by_owner rename to events`.execute(db);
  // The indexes dropped with the old table, as before: the feed's (unique, so a sequence can
  // never be taken twice) and one customer's history (its erasure when it is deleted).
  await db.schema
    .createIndex('events_account_mode_sequence')
    .on('events')
    .columns(['account_id', 'mode', 'sequence'])
    .unique()
    .execute();
  await db.schema
    .createIndex('events_account_mode_object')
    .on('events')
    .columns(['account_id', 'mode', 'object_id', 'id'])
    .execute();
}
