import type { Insertable, Kysely, Selectable, Transaction } from 'kysely';
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
 * be inserted once, after all its writes (events.hook.ts), and then the counter update, one
 * multi-row insert and COMMIT are all that the next batch of that account and mode waits for.
 *
 * Counters are taken in (account_id, mode) order, so two transactions that each write events of
 * several accounts never wait on each other's counters in opposite orders; and taken after every
 * row lock of the transaction, they are never held while it waits for one.
 */
export async function insertEvents(
  trx: Transaction<Database>,
  events: readonly NewEvent[],
): Promise<EventRow[]> {
  if (events.length === 0) return [];
  const sorted = [...events].sort(byOwner);
  const rows: Insertable<EventsTable>[] = [];
  for (let i = 0; i < sorted.length; ) {
    const first = sorted[i] as NewEvent;
    let end = i + 1;
    while (end < sorted.length && byOwner(first, sorted[end] as NewEvent) === 0) end++;
    const n = end - i;
    const { last } = await trx
      .insertInto('event_sequences')
      .values({ account_id: first.account_id, mode: first.mode, last: n })
      .onConflict((oc) =>
        oc
          .columns(['account_id', 'mode'])
          .doUpdateSet((eb) => ({ last: eb('event_sequences.last', '+', n) })),
      )
      .returning('last')
      .executeTakeFirstOrThrow();
    // Numbers last−n+1 … last are this transaction's, in the order the events were given.
    for (let k = 0; k < n; k++)
      rows.push({ ...(sorted[i + k] as NewEvent), sequence: Number(last) - n + 1 + k });
    i = end;
  }
  await eventRows.insert(trx, rows);
  return rows as EventRow[];
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

/**
 * Deletes up to `limit` events with an id below `beforeId`. Ids begin with the time they were
 * made, so the primary key finds the oldest events without an index on `created`.
 */
export async function pruneEvents(db: Q, beforeId: string, limit: number): Promise<number> {
  const result = await db
    .deleteFrom('events')
    .where('id', 'in', (eb) =>
      eb.selectFrom('events').select('id').where('id', '<', beforeId).orderBy('id').limit(limit),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
