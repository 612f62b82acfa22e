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
 *
 * On SQLite the table went back to a rowid afterwards (eventsWithRowid, below): for rows of this
 * size the clustered table cost more than the index it saved.
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

/**
 * SQLite: events back in a table with a rowid, (account_id, mode, id) a unique index beside it.
 *
 * An event row is some 600 bytes, most of it the customer's JSON. A WITHOUT ROWID table is a
 * B-tree of whole rows, and SQLite advises it only for rows under about a twentieth of a page:
 * each page holds a handful, and the insert at the end of the key splits pages as an index
 * insert does, leaving them part full, where a rowid table appends. Measured with batches of 50
 * events, the rowid table and its extra index took a fifth less CPU than the clustered table.
 * Reads are unchanged: retrieve, the list and retention walk the new index, as they walked the
 * key. PostgreSQL's tables are heaps already; nothing changes there.
 *
 * The columns are restated rather than shared with keyEventsByOwner: a migration is a frozen
 * record of what it did.
 */
export async function eventsWithRowid(
  db: Kysely<unknown>,
  dialect: DatabaseConfig['dialect'],
  idColumn: RawBuilder<unknown>,
): Promise<void> {
  if (dialect === 'postgres') return;
  await db.schema
    .createTable('events_with_rowid')
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
    .execute();
  // In key order, so the rows are laid out as new ones will be: each owner's oldest first.
  await sql`insert into events_with_rowid (id, account_id, mode, sequence, type, object_id, created, api_version, data, request_id, idempotency_key, source)
    select id, account_id, mode, sequence, type, object_id, created, api_version, data, request_id, idempotency_key, source from events order by account_id, mode, id`.execute(
    db,
  );
  await db.schema.dropTable('events').execute();
  await sql`alter table events_with_rowid rename to events`.execute(db);
  await db.schema
    .createIndex('events_account_mode_id')
    .on('events')
    .columns(['account_id', 'mode', 'id'])
    .unique()
    .execute();
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
