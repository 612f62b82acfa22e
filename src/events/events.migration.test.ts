import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Kysely, sql } from 'kysely';
import {
  createTestAccount,
  type FreshDatabase,
  forEachDatabase,
  freshDatabase,
} from '../../test/helpers/harness.js';
import { type Db, openMigrated } from '../db/index.js';
import { keyEventsByOwner } from '../db/migrations.events.js';
import { newId } from '../ids.js';
import { API_VERSION } from './events.schema.js';
import { findEvent, insertEvents, listEventsAfter, type NewEvent } from './events.store.js';

// Migration 0013 on a database whose events are keyed by id alone, as 0005 made them: the rows
// keep every value, the key becomes (account_id, mode, id), and numbering goes on from there.

/** The layout 0005 made, for each dialect: the rows are copied across by the test. */
const OLD_LAYOUT = {
  sqlite: [
    'create table events_old (id text primary key, account_id text not null, mode text not null, sequence bigint not null, type text not null, object_id text not null, created bigint not null, api_version text not null, data text not null, request_id text, idempotency_key text, source text not null)',
    'insert into events_old select id, account_id, mode, sequence, type, object_id, created, api_version, data, request_id, idempotency_key, source from events',
    'drop table events',
    'alter table events_old rename to events',
    'create unique index events_account_mode_sequence on events (account_id, mode, sequence)',
    'create index events_account_mode_object on events (account_id, mode, object_id, id)',
    'create index events_account_mode_id on events (account_id, mode, id)',
  ],
  postgres: [
    'alter table events drop constraint events_pkey',
    'alter table events add constraint events_pkey primary key (id)',
    'create index events_account_mode_id on events (account_id, mode, id)',
  ],
};

forEachDatabase('Migration 0013, events keyed by owner', (dialect) => {
  let fresh: FreshDatabase | undefined;
  before(async () => {
    fresh = await freshDatabase(dialect);
  });
  after(() => fresh?.drop());

  test('rows are kept whole, the key is the owner and id, and numbering goes on', async () => {
    await migratedAgain(fresh as FreshDatabase, '0013_events_keyed_by_owner', {
      async rewind(db) {
        for (const statement of OLD_LAYOUT[dialect]) await sql.raw(statement).execute(db.kysely);
      },
      async check(migrated) {
        assert.deepEqual(
          await indexesOfEvents(migrated, dialect),
          dialect === 'sqlite'
            ? ['events_account_mode_object', 'events_account_mode_sequence']
            : ['events_account_mode_object', 'events_account_mode_sequence', 'events_pkey'],
        );
        assert.equal(
          await keyOfEvents(migrated, dialect),
          dialect === 'sqlite' ? 'without rowid' : 'PRIMARY KEY (account_id, mode, id)',
        );
      },
    });
  });
});

// Migration 0014 on a database as 0013 left it: on SQLite the events move to a table with a
// rowid and (account_id, mode, id) becomes a unique index; on PostgreSQL nothing changes.
forEachDatabase('Migration 0014, events with a rowid', (dialect) => {
  let fresh: FreshDatabase | undefined;
  before(async () => {
    fresh = await freshDatabase(dialect);
  });
  after(() => fresh?.drop());

  test('rows are kept whole, the owner and id stay unique, and numbering goes on', async () => {
    await migratedAgain(fresh as FreshDatabase, '0014_events_with_rowid', {
      async rewind(db) {
        if (dialect !== 'sqlite') return;
        await keyEventsByOwner(db.kysely as unknown as Kysely<unknown>, dialect, sql`text`);
        assert.equal(await keyOfEvents(db, dialect), 'without rowid');
      },
      async check(migrated, first) {
        assert.deepEqual(
          await indexesOfEvents(migrated, dialect),
          dialect === 'sqlite'
            ? ['events_account_mode_id', 'events_account_mode_object', 'events_account_mode_sequence']
            : ['events_account_mode_object', 'events_account_mode_sequence', 'events_pkey'],
        );
        assert.equal(
          await keyOfEvents(migrated, dialect),
          dialect === 'sqlite' ? 'with a rowid' : 'PRIMARY KEY (account_id, mode, id)',
        );
        // The same id twice for one owner is refused, and the refusal takes no number.
        await assert.rejects(
          migrated.kysely.transaction().execute((trx) => insertEvents(trx, [first])),
          /unique|duplicate/i,
        );
      },
    });
  });
});

/**
 * Writes forty events, takes the database back to before `migration` (`rewind`), and opens it
 * again, as a new release's start would, which applies it. Then: the rows are as they were,
 * `check` sees the layout, an event is found in its own mode only, and numbering goes on.
 */
async function migratedAgain(
  fresh: FreshDatabase,
  migration: string,
  steps: { rewind: (db: Db) => Promise<void>; check: (migrated: Db, first: NewEvent) => Promise<void> },
): Promise<void> {
  const { db, config } = fresh;
  const acct = await createTestAccount(db);
  const made = madeEvents(acct.id);
  await db.kysely.transaction().execute((trx) => insertEvents(trx, made));
  const stored = await db.kysely.selectFrom('events').selectAll().orderBy('id').execute();
  await steps.rewind(db);
  await sql`delete from lunipay_migrations where name = ${migration}`.execute(db.kysely);

  const pgSchema = db.dialect === 'postgres' ? await currentSchema(db) : undefined;
  const migrated = await openMigrated({ database: config }, pgSchema ? { pgSchema, poolSize: 2 } : {});
  try {
    assert.deepEqual(await migrated.kysely.selectFrom('events').selectAll().orderBy('id').execute(), stored);
    const first = made[0] as NewEvent;
    await steps.check(migrated, first);
    const owner = { accountId: acct.id, mode: 'test' as const };
    assert.equal((await findEvent(migrated.kysely, owner, first.id))?.data, first.data);
    assert.equal(await findEvent(migrated.kysely, { ...owner, mode: 'live' }, first.id), undefined);
    await migrated.kysely.transaction().execute((trx) => insertEvents(trx, [{ ...first, id: newId('evt') }]));
    const feed = await listEventsAfter(migrated.kysely, owner, 19, 10, {});
    assert.deepEqual(
      feed.map((e) => Number(e.sequence)),
      [20, 21],
    );
  } finally {
    await migrated.close();
  }
}

async function indexesOfEvents(db: Db, dialect: Db['dialect']): Promise<string[]> {
  const { rows } =
    dialect === 'sqlite'
      ? await sql<{
          name: string;
        }>`select name from sqlite_master where type = 'index' and tbl_name = 'events' and name not like 'sqlite_autoindex%'`.execute(
          db.kysely,
        )
      : await sql<{
          name: string;
        }>`select indexname as name from pg_indexes where tablename = 'events' and schemaname = current_schema()`.execute(
          db.kysely,
        );
  return rows.map((r) => r.name).sort();
}

async function keyOfEvents(db: Db, dialect: Db['dialect']): Promise<string | undefined> {
  if (dialect === 'sqlite') {
    const { rows } = await sql<{
      wr: number;
    }>`select wr from pragma_table_list where name = 'events'`.execute(db.kysely);
    return rows[0]?.wr === 1 ? 'without rowid' : 'with a rowid';
  }
  const { rows } = await sql<{
    key: string;
  }>`select pg_get_constraintdef(oid) as key from pg_constraint where conname = 'events_pkey' and connamespace = current_schema()::regnamespace`.execute(
    db.kysely,
  );
  return rows[0]?.key;
}

/** Forty events of one account, half of each mode, with the optional columns set and not. */
function madeEvents(accountId: string): NewEvent[] {
  return Array.from({ length: 40 }, (_, i) => ({
    id: newId('evt'),
    account_id: accountId,
    mode: i % 2 ? 'live' : 'test',
    type: 'customer.created',
    object_id: newId('cus'),
    created: 1_700_000_000 + i,
    api_version: API_VERSION,
    data: JSON.stringify({ object: { id: `n${i}`, note: 'quote " and \u00e9' } }),
    request_id: i % 3 ? `req_${i}` : null,
    idempotency_key: i % 5 ? null : `key-${i}`,
    source: 'api',
  }));
}

async function currentSchema(db: Db): Promise<string> {
  const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db.kysely);
  return (rows[0] as { schema: string }).schema;
}
