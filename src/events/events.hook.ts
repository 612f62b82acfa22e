import type { Transaction } from 'kysely';
import type { Customer, DeletedCustomer } from '../customers/customers.schema.js';
import type { CustomerEvent, CustomerWriteHook, WriteOrigin } from '../customers/customers.service.js';
import { toCustomer } from '../customers/customers.service.js';
import type { CustomerRow } from '../customers/customers.store.js';
import type { Database } from '../db/schema.js';
import { newId } from '../ids.js';
import { API_VERSION, CHANGEABLE_FIELDS, type EventType } from './events.schema.js';
import { insertEvents, type NewEvent, rewriteEventsOf } from './events.store.js';

/**
 * The customer write hook that writes the event log: one event per change, in the change's own
 * transaction, so a change that commits has its event and one that rolls back has none. The
 * customer service calls hooks only for writes that change something, so a no-op update, an
 * idempotent replay (answered before the service runs) and a refused request make no event.
 */

/** What a write made without a stated origin records: the customer service is the API's. */
const NO_ORIGIN: WriteOrigin = { requestId: null, idempotencyKey: null, source: 'api' };

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

/** The row for one customer event; its sequence is given when it is inserted. */
export function eventRow(event: CustomerEvent, now = Date.now()): NewEvent {
  const { customer } = event;
  const origin = event.origin ?? NO_ORIGIN;
  const data =
    event.type === 'deleted'
      ? { object: deletedStub(customer.id) }
      : event.type === 'updated'
        ? { object: toCustomer(customer), previous_attributes: previousAttributes(event.before, customer) }
        : { object: toCustomer(customer) };
  return {
    id: newId('evt'),
    account_id: customer.account_id,
    mode: customer.mode,
    type: TYPES[event.type],
    object_id: customer.id,
    created: Math.floor(now / 1000),
    api_version: API_VERSION,
    data: JSON.stringify(data),
    request_id: origin.requestId,
    idempotency_key: origin.idempotencyKey,
    source: origin.source,
  };
}

/**
 * Writes the event of one customer change. On delete, every earlier event of that customer is
 * first rewritten to the deleted stub (erasure): no copy of its personal data stays in the log.
 *
 * Registered last among the hooks: the sequence counter it takes stays locked until COMMIT,
 * and other writes of the same account and mode wait for it (events.store.ts).
 */
export const writeCustomerEvent: CustomerWriteHook = async (trx: Transaction<Database>, event) => {
  const { customer } = event;
  if (event.type === 'deleted') {
    const owner = { accountId: customer.account_id, mode: customer.mode };
    await rewriteEventsOf(trx, owner, customer.id, JSON.stringify({ object: deletedStub(customer.id) }));
  }
  await insertEvents(trx, [eventRow(event)]);
};
