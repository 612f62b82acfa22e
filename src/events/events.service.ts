import type { AuthContext } from '../accounts/keys.js';
import type { Db } from '../db/index.js';
import { AppError } from '../errors.js';
import { assertOneCursor, createdRange, pageOf, shown } from '../http/pagination.js';
import { firstIdAt, isId } from '../ids.js';
import { EVENT_TYPES, type Event, type EventList, type ListEventsQuery } from './events.schema.js';
import type { EventFilter, EventRow, Owner } from './events.store.js';
import * as store from './events.store.js';

export interface EventDeps {
  db: Db;
  /**
   * Per event id, how many endpoints have not yet received it with a 2xx, counted when read in
   * one query for the whole page; given from above (deliveries are webhooks', not events').
   * Without it, none is pending.
   */
  pendingWebhooks?: (db: Db, eventIds: readonly string[]) => Promise<Map<string, number>>;
}

const owner = (auth: AuthContext): Owner => ({ accountId: auth.accountId, mode: auth.mode });

/** The one place a stored row becomes the API's event object. */
export function toEvent(row: EventRow, pending: number): Event {
  return {
    id: row.id,
    object: 'event',
    type: row.type,
    api_version: row.api_version,
    created: row.created,
    livemode: row.mode === 'live',
    sequence: row.sequence,
    data: JSON.parse(row.data) as Event['data'],
    request: { id: row.request_id, idempotency_key: row.idempotency_key, source: row.source },
    pending_webhooks: pending,
  };
}

async function render(deps: EventDeps, rows: EventRow[]): Promise<Event[]> {
  const pending = deps.pendingWebhooks
    ? await deps.pendingWebhooks(
        deps.db,
        rows.map((r) => r.id),
      )
    : undefined;
  return rows.map((row) => toEvent(row, pending?.get(row.id) ?? 0));
}

/** Unknown, another account's and the other mode's are the same 404, byte for byte. */
export function notFound(id: string): AppError {
  return new AppError('resource_missing', `No such event: '${id}'.`, 'id');
}

export async function retrieveEvent(deps: EventDeps, auth: AuthContext, id: string): Promise<Event> {
  const row = isId('evt', id) ? await store.findEvent(deps.db.reader, owner(auth), id) : undefined;
  if (!row) throw notFound(id);
  return (await render(deps, [row]))[0] as Event;
}

/** `customer.updated` is itself; `customer.*` is every type under `customer.`; anything else is a 400. */
function typesOf(type: string | undefined): readonly string[] | undefined {
  if (type === undefined) return undefined;
  const matching = type.endsWith('.*')
    ? EVENT_TYPES.filter((t) => t.startsWith(type.slice(0, -1)))
    : EVENT_TYPES.filter((t) => t === type);
  if (matching.length === 0) {
    throw new AppError(
      'parameter_invalid',
      `Invalid type: '${type}' is not an event type (${EVENT_TYPES.join(', ')}) or a prefix wildcard such as customer.*.`,
      'type',
    );
  }
  return matching;
}

function objectId(value: string | undefined): string | undefined {
  if (value !== undefined && !isId('cus', value)) {
    throw new AppError(
      'parameter_invalid',
      `Invalid object_id: '${value}' is not a customer id.`,
      'object_id',
    );
  }
  return value;
}

export async function listEvents(
  deps: EventDeps,
  auth: AuthContext,
  query: ListEventsQuery,
): Promise<EventList> {
  assertOneCursor(query);
  if (query.sequence_after !== undefined) {
    const other = (['starting_after', 'ending_before', 'created'] as const).find(
      (p) => query[p] !== undefined,
    );
    if (other !== undefined) {
      throw new AppError('parameters_exclusive', `sequence_after cannot be combined with ${other}.`);
    }
  }
  const page = pageOf(query, 'evt', 'an event id');
  const filter: EventFilter = {
    types: typesOf(query.type),
    objectId: objectId(query.object_id),
    created: createdRange(query.created),
  };
  const rows =
    query.sequence_after === undefined
      ? await store.listEvents(deps.db.reader, owner(auth), page, filter)
      : await store.listEventsAfter(deps.db.reader, owner(auth), query.sequence_after, page.limit, filter);
  // The feed has no cursor, so its page walks older and keeps the store's order (oldest first).
  const { rows: shownRows, has_more } = shown(rows, page);
  return { object: 'list', url: '/v1/events', has_more, data: await render(deps, shownRows) };
}

/** Deletes per statement while pruning, so no one statement holds locks for long. */
const PRUNE_BATCH = 1000;

/**
 * Deletes events older than the retention, a batch at a time; returns how many. Ids begin with
 * the time they were made, so the events made before the cutoff are those with a smaller id.
 */
export async function pruneEvents(db: Db, retentionDays: number, nowMs = Date.now()): Promise<number> {
  const cutoff = firstIdAt('evt', nowMs - retentionDays * 86_400_000);
  let total = 0;
  for (const owner of await store.eventOwners(db.kysely)) {
    for (;;) {
      const deleted = await store.pruneEvents(db.kysely, owner, cutoff, PRUNE_BATCH);
      total += deleted;
      if (deleted < PRUNE_BATCH) break;
    }
  }
  return total;
}
