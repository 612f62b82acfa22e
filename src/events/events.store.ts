import { CompiledQuery, type Insertable, type Kysely, type Selectable, type Transaction } from 'kysely';
import { onPostgres } from '../db/dialect.js';
import { HELD_DONE, HeldWrites } from '../db/held-writes.js';
import { type CreatedRange, createdWithin, type KeysetPage, keysetPage } from '../db/keyset.js';
import { RowInserter } from '../db/row-inserts.js';
import type { Database, EventsTable, Mode } from '../db/schema.js';

type Q = Kysely<Database> | Transaction<Database>;
export type EventRow = Selectable<EventsTable>;
/** An event as written, before it has its sequence. */
export type NewEvent = Omit<Insertable<EventsTable>, 'sequence'>;

export interface Owner {
  accountId: string;
  mode: Mode;
}

/** Rows per insert statement: powers of two up to this, so the statement texts stay few. */
const MAX_ROWS_PER_INSERT = 256;

const eventRows = new RowInserter<'events', Insertable<EventsTable>>(
  'events',
  {
    id: true,
    account_id: true,
    mode: true,
    type: true,
    object_id: true,
    created: true,
    api_version: true,
    data: true,
    request_id: true,
    idempotency_key: true,
    source: true,
    sequence: true,
  },
  MAX_ROWS_PER_INSERT,
);

const byOwner = (a: NewEvent, b: NewEvent) =>
  a.account_id < b.account_id
    ? -1
    : a.account_id > b.account_id
      ? 1
      : a.mode < b.mode
        ? -1
        : a.mode > b.mode
          ? 1
          : 0;

/**
 * What a caller may have the counter's statement count beside numbering, for each account and
 * mode it numbers: an SQL expression of `:account` and `:mode`, such as how many enabled webhook
 * endpoints there are. Given from above: events know nothing of what follows them.
 */
export type CountedAlongside = string;

export interface NumberedEvents {
  rows: EventRow[];
  /** The count asked for, by `account_id:mode`, taken in the counter's own statement. */
  counted: Map<string, number>;
}

export const ownerKey = (event: Pick<NewEvent, 'account_id' | 'mode'>) => `${event.account_id}:${event.mode}`;

/**
 * Writes events inside the caller's transaction, numbering them per account and mode.
 *
 * Why the sequence has no gaps and follows commit order: each account and mode has one counter
 * row, and a transaction takes its numbers with one upsert that adds the number of its events.
 * The upsert locks the row until COMMIT (or ROLLBACK). On PostgreSQL a second transaction taking
 * numbers for the same account and mode waits on that lock until the first has ended, and the
 * lock is released only after the commit is visible: so if s+1 can be read, s was committed
 * before it (a reader never sees s+1 without s), and a transaction that rolls back gives its
 * numbers back, since its increment rolls back with it. On SQLite, write transactions are serial
 * anyway. The unique index on (account_id, mode, sequence) makes a duplicate impossible.
 *
 * The cost: on PostgreSQL the writes of one account and mode serialise from their counter update
 * to their COMMIT. So the counters are taken last: a group-commit batch hands its events over to
 * be inserted once, after all its writes (events.hook.ts), and on PostgreSQL the counter's
 * upsert and the events' insert are one statement, so the next batch of that account and mode
 * waits for one round trip and COMMIT.
 *
 * Counters are taken in (account_id, mode) order, so two transactions that each write events of
 * several accounts never wait on each other's counters in opposite orders; and taken after every
 * row lock of the transaction, they are never held while it waits for one.
 */
export async function insertEvents(
  trx: Transaction<Database>,
  events: readonly NewEvent[],
  alongside?: CountedAlongside,
  /** On PostgreSQL, inserts held by the batch's earlier flushes, to ride on the first statement. */
  held?: HeldWrites,
): Promise<NumberedEvents> {
  const counted = new Map<string, number>();
  if (events.length === 0) return { rows: [], counted };
  const sorted = [...events].sort(byOwner);
  const rows: Insertable<EventsTable>[] = [];
  const postgres = onPostgres(trx);
  for (let i = 0; i < sorted.length; ) {
    const first = sorted[i] as NewEvent;
    let end = i + 1;
    while (end < sorted.length && byOwner(first, sorted[end] as NewEvent) === 0) end++;
    const group = sorted.slice(i, end);
    const taken = postgres
      ? await numberAndInsertPg(trx, group, alongside, held)
      : await takeNumbersSqlite(trx, first, group.length, alongside);
    rows.push(...numbered(group, taken.last));
    if (taken.counted !== null) counted.set(ownerKey(first), taken.counted);
    i = end;
  }
  if (!postgres) await eventRows.insert(trx, rows);
  return { rows: rows as EventRow[], counted };
}

/** Numbers last−n+1 … last are the transaction's, in the order the events were given. */
const numbered = (group: readonly NewEvent[], last: number): Insertable<EventsTable>[] =>
  group.map((event, k) => ({ ...event, sequence: last - group.length + 1 + k }));

/** The count's text for one dialect: its owner as PostgreSQL's $1, $2, or SQLite's `?`s in order. */
function countText(
  alongside: CountedAlongside | undefined,
  postgres: boolean,
): { sql: string; owners: ('account' | 'mode')[] } {
  if (alongside === undefined) return { sql: postgres ? 'null::bigint' : 'null', owners: [] };
  const owners: ('account' | 'mode')[] = [];
  const sql = alongside.replace(/:(account|mode)\b/g, (_, name: 'account' | 'mode') => {
    owners.push(name);
    return postgres ? (name === 'account' ? '$1' : '$2') : '?';
  });
  return { sql: `(${sql})`, owners };
}

const sqliteTexts = new Map<CountedAlongside | undefined, { text: string; owners: ('account' | 'mode')[] }>();

/** SQLite: the counter's upsert and the count asked for in one statement, of a fixed text. */
async function takeNumbersSqlite(
  trx: Transaction<Database>,
  owner: NewEvent,
  n: number,
  alongside: CountedAlongside | undefined,
): Promise<{ last: number; counted: number | null }> {
  let statement = sqliteTexts.get(alongside);
  if (statement === undefined) {
    const count = countText(alongside, false);
    statement = {
      text: `insert into event_sequences as s (account_id, mode, last) values (?, ?, ?) on conflict (account_id, mode) do update set last = s.last + excluded.last returning last, ${count.sql} as counted`,
      owners: count.owners,
    };
    sqliteTexts.set(alongside, statement);
  }
  const { rows } = await trx.executeQuery<{ last: number; counted: number | null }>(
    CompiledQuery.raw(statement.text, [
      owner.account_id,
      owner.mode,
      n,
      ...statement.owners.map((name) => (name === 'account' ? owner.account_id : owner.mode)),
    ]),
  );
  const row = rows[0];
  if (!row) throw new Error('the event counter returned nothing');
  return { last: Number(row.last), counted: row.counted === null ? null : Number(row.counted) };
}

/**
 * PostgreSQL: the counter's upsert, the events' insert and the count asked for in one
 * statement. The events go as one array per column (`with ordinality` keeps their order), so the
 * statement's text is the same for any number of events and is prepared once per connection.
 * Their `data`, already JSON, goes as one JSON array of them, joined rather than quoted: as an
 * array literal, pg escapes every quote of every payload in JavaScript, which cost more than the
 * rest of the statement's parameters. `json` (not `jsonb`) hands each element back as the very
 * text it was given.
 */
const numberAndInsertText = (alongside: CountedAlongside | undefined) => `with counter as (
  insert into event_sequences as s (account_id, mode, last) select $1, $2, $3::bigint where ${HELD_DONE}
  on conflict (account_id, mode) do update set last = s.last + excluded.last
  returning last, ${countText(alongside, true).sql} as counted
), inserted as (
  insert into events (id, account_id, mode, sequence, type, object_id, created, api_version, data, request_id, idempotency_key, source)
  select e.id, $1, $2, counter.last - $3::bigint + e.n, e.type, e.object_id, e.created, e.api_version, e.data::text, e.request_id, e.idempotency_key, e.source
  from counter, rows from (unnest($4::text[], $5::text[], $6::text[], $7::bigint[], $8::text[]), json_array_elements($9::json),
      unnest($10::text[], $11::text[], $12::text[]))
    with ordinality as e(id, type, object_id, created, api_version, data, request_id, idempotency_key, source, n)
  returning 1
)
select last, counted, (select count(*) from inserted) as inserted from counter`;

const pgTexts = new Map<CountedAlongside | undefined, string>();

async function numberAndInsertPg(
  trx: Transaction<Database>,
  group: readonly NewEvent[],
  alongside: CountedAlongside | undefined,
  held: HeldWrites | undefined,
): Promise<{ last: number; counted: number | null }> {
  let text = pgTexts.get(alongside);
  if (text === undefined) {
    text = numberAndInsertText(alongside);
    pgTexts.set(alongside, text);
  }
  const first = group[0] as NewEvent;
  const column = <K extends keyof NewEvent>(key: K) => group.map((event) => event[key] ?? null);
  const parameters = [
    first.account_id,
    first.mode,
    group.length,
    column('id'),
    column('type'),
    column('object_id'),
    column('created'),
    column('api_version'),
    `[${group.map((event) => event.data).join(',')}]`,
    column('request_id'),
    column('idempotency_key'),
    column('source'),
  ];
  // The batch's customer and search rows, when it holds them, go in the same round trip: the
  // statement reads none of their tables. They run before the counter's upsert (HELD_DONE), so
  // the counter is not locked while they do.
  const query = (held ?? new HeldWrites()).take({ sql: text, parameters });
  const { rows } = await trx.executeQuery<{ last: string; counted: string | null; inserted: string }>(query);
  const row = rows[0];
  // The select reads the inserted rows, so the statement cannot end before they are in.
  if (!row || Number(row.inserted) !== group.length) throw new Error('events were not all inserted');
  return { last: Number(row.last), counted: row.counted === null ? null : Number(row.counted) };
}

/** Replaces the payload of every event of one customer (erasure: the deleted stub, nothing else). */
export async function rewriteEventsOf(db: Q, owner: Owner, objectId: string, data: string): Promise<void> {
  await db
    .updateTable('events')
    .set({ data })
    .where('account_id', '=', owner.accountId)
    .where('mode', '=', owner.mode)
    .where('object_id', '=', objectId)
    .execute();
}

export async function findEvent(db: Q, owner: Owner, id: string): Promise<EventRow | undefined> {
  return db
    .selectFrom('events')
    .selectAll()
    .where('id', '=', id)
    .where('account_id', '=', owner.accountId)
    .where('mode', '=', owner.mode)
    .executeTakeFirst();
}

export interface EventFilter {
  /** Any of these types; undefined for all. */
  types?: readonly string[];
  objectId?: string;
  created?: CreatedRange;
}

function filtered(db: Q, owner: Owner, filter: EventFilter) {
  let query = db
    .selectFrom('events')
    .selectAll()
    .where('account_id', '=', owner.accountId)
    .where('mode', '=', owner.mode);
  if (filter.types !== undefined) query = query.where('type', 'in', filter.types as EventsTable['type'][]);
  if (filter.objectId !== undefined) query = query.where('object_id', '=', filter.objectId);
  return query.$call(createdWithin(filter.created));
}

/** One page by keyset on the id, like the customer list (db/keyset.ts). */
export async function listEvents(
  db: Q,
  owner: Owner,
  page: KeysetPage,
  filter: EventFilter,
): Promise<EventRow[]> {
  return filtered(db, owner, filter).$call(keysetPage(page)).execute();
}

/** The feed: events after a sequence, oldest first, `limit + 1` rows. */
export async function listEventsAfter(
  db: Q,
  owner: Owner,
  sequence: number,
  limit: number,
  filter: Omit<EventFilter, 'created'>,
): Promise<EventRow[]> {
  return filtered(db, owner, filter)
    .where('sequence', '>', sequence)
    .orderBy('sequence', 'asc')
    .limit(limit + 1)
    .execute();
}

/** Every account and mode that has numbered an event: the owners retention walks. */
export async function eventOwners(db: Q): Promise<Owner[]> {
  const rows = await db.selectFrom('event_sequences').select(['account_id', 'mode']).execute();
  return rows.map((row) => ({ accountId: row.account_id, mode: row.mode }));
}

/**
 * Deletes up to `limit` of one owner's events with an id below `beforeId`. Ids begin with the
 * time they were made, so the key (account_id, mode, id), PostgreSQL's primary key and SQLite's
 * unique index, holds each owner's oldest events first, and the prune walks only what it deletes.
 */
export async function pruneEvents(db: Q, owner: Owner, beforeId: string, limit: number): Promise<number> {
  const result = await db
    .deleteFrom('events')
    .where('account_id', '=', owner.accountId)
    .where('mode', '=', owner.mode)
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('events')
        .select('id')
        .where('account_id', '=', owner.accountId)
        .where('mode', '=', owner.mode)
        .where('id', '<', beforeId)
        .orderBy('id')
        .limit(limit),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
