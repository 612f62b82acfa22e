import type { Transaction } from 'kysely';
import type { Customer, DeletedCustomer } from '../customers/customers.schema.js';
import { toCustomer } from '../customers/customers.service.js';
import type { CustomerRow } from '../customers/customers.store.js';
import type { Coalescer } from '../db/group-commit.js';
import type { HeldWrites } from '../db/held-writes.js';
import type { Database } from '../db/schema.js';
import type { CustomerEvent, CustomerWriteHook, Origin } from '../db/write-hooks.js';
import { newId } from '../ids.js';
import { API_VERSION, CHANGEABLE_FIELDS, type EventType } from './events.schema.js';
import {
  type CountedAlongside,
  type EventRow,
  insertEvents,
  type NewEvent,
  rewriteEventsOf,
} from './events.store.js';

/**
 * The customer write hook that writes the event log: one event per change, in the change's own
 * transaction, so a change that commits has its event and one that rolls back has none. The
 * customer service calls hooks only for writes that change something, so a no-op update, an
 * idempotent replay (answered before the service runs) and a refused request make no event.
 */

/** What a write made without a stated origin records: the customer service is the API's. */
const NO_ORIGIN: Origin = { requestId: null, idempotencyKey: null, source: 'api' };

const TYPES: Record<CustomerEvent['type'], EventType> = {
  created: 'customer.created',
  updated: 'customer.updated',
  deleted: 'customer.deleted',
};

const deletedStub = (id: string): DeletedCustomer => ({ id, object: 'customer', deleted: true });

/**
 * The fields whose stored value changed, each with its value before; `updated` is left out.
 * Stored values are compared (metadata as its stored JSON text), and rendered as the API does.
 */
export function previousAttributes(before: CustomerRow, after: CustomerRow): Partial<Customer> {
  const shown = toCustomer(before);
  const previous: Record<string, unknown> = {};
  for (const field of CHANGEABLE_FIELDS) {
    if (before[field] !== after[field]) previous[field] = shown[field];
  }
  return previous as Partial<Customer>;
}

/** The event's `data` as JSON: the customer after the change, with what it was before an update. */
function eventData(event: CustomerEvent): string {
  const { customer } = event;
  if (event.type === 'deleted') return JSON.stringify({ object: deletedStub(customer.id) });
  if (event.type === 'created') return JSON.stringify({ object: toCustomer(customer) });
  return JSON.stringify({
    object: toCustomer(customer),
    previous_attributes: previousAttributes(event.before, customer),
  });
}

/** The row for one customer event; its sequence is given when it is inserted. */
export function eventRow(event: CustomerEvent, now = Date.now()): NewEvent {
  const { customer } = event;
  const origin = event.origin ?? NO_ORIGIN;
  return {
    id: newId('evt'),
    account_id: customer.account_id,
    mode: customer.mode,
    type: TYPES[event.type],
    object_id: customer.id,
    created: Math.floor(now / 1000),
    api_version: API_VERSION,
    data: eventData(event),
    request_id: origin.requestId,
    idempotency_key: origin.idempotencyKey,
    source: origin.source,
  };
}

/**
 * Writes events, erasing first: each deleted customer's stored events are rewritten to the
 * deleted stub, and so are its events written alongside (earlier writes of the same batch), so
 * no copy of its personal data stays in the log. Then they are numbered (insertEvents: the
 * counters stay locked from there to COMMIT, and on PostgreSQL the next batch of the same
 * account and mode waits for exactly that span), and what they make is written last.
 */
async function writeEvents(
  trx: Transaction<Database>,
  rows: NewEvent[],
  followers?: EventFollowers,
  held?: HeldWrites,
): Promise<void> {
  const erased = new Map<string, string>();
  for (const row of rows) {
    if (row.type !== 'customer.deleted') continue;
    await rewriteEventsOf(trx, { accountId: row.account_id, mode: row.mode }, row.object_id, row.data);
    erased.set(row.object_id, row.data);
  }
  const final =
    erased.size === 0
      ? rows
      : rows.map((row) =>
          erased.has(row.object_id) ? { ...row, data: erased.get(row.object_id) as string } : row,
        );
  const { counted } = await insertEvents(trx, final, followers?.counted, held);
  if (followers) await followers.written(trx, final, counted);
}

/**
 * What the writing of events makes in their transaction (the webhook deliveries), given from
 * above: events know nothing of webhooks. `counted` is an SQL count the numbering statement
 * evaluates for each account and mode in the same round trip (CountedAlongside); `written` gets
 * those counts by `account_id:mode`, so it can skip its own query when there is nothing to do.
 * It runs inside the counters' lock: on PostgreSQL it lengthens what the next batch of the
 * account waits for, so it should cost nothing when the count says there is nothing to make.
 */
export interface EventFollowers {
  counted: CountedAlongside;
  written: (
    trx: Transaction<Database>,
    events: readonly Pick<EventRow, 'id' | 'object_id' | 'account_id' | 'mode' | 'type'>[],
    counted: ReadonlyMap<string, number>,
  ) => Promise<void>;
}

/**
 * The events of a batch, written once for all its writes, after every row lock the writes take
 * and just before COMMIT: taken write by write, a batch would lock the counters of its accounts in
 * the order its writes came, and between two of them wait for a customer row another batch holds
 * while that batch waits for a counter this one holds. PostgreSQL breaks such a deadlock only
 * after deadlock_timeout (1 s). Taken once, last, in a fixed order, the counters close no cycle.
 */
export function customerEventHook(followers?: EventFollowers): CustomerWriteHook {
  const eventInserts: Coalescer<NewEvent> = {
    key: 'events',
    phase: 'after',
    flush: (trx, rows, held) => writeEvents(trx, rows, followers, held),
  };
  // The event of one customer change, handed to the write's batch to be written with the others
  // just before COMMIT, or at once in a transaction outside group commit.
  return async (trx, event, batch) => {
    const row = eventRow(event);
    if (batch) batch.add(eventInserts, row);
    else await writeEvents(trx, [row], followers);
  };
}

/** The hook alone, for writers without webhooks (tests of the log itself). */
export const writeCustomerEvent: CustomerWriteHook = customerEventHook();
