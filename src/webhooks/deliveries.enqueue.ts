import type { Transaction } from 'kysely';
import type { Database, Mode } from '../db/schema.js';
import { customerEventHook } from '../events/events.hook.js';
import { type EventRow, ownerKey } from '../events/events.store.js';
import { newId } from '../ids.js';
import { insertJobs, type NewJob, queuedJob } from '../jobs/jobs.store.js';
import { DELIVER, ENABLED_ENDPOINTS_OF_OWNER, enabledEndpointsOf, RESEND } from './deliveries.store.js';
import { enabledEventsOf, matchesEvent } from './webhooks.service.js';

/** A delivery's stored payload: which event to which endpoint; never the event's data. */
export interface DeliveryPayload {
  v: 1;
  event: string;
  endpoint: string;
}

interface Target {
  id: string;
  account_id: string;
  mode: Mode;
}

/**
 * The job of one delivery. Deliveries of one endpoint about one customer share an ordering key,
 * so they are attempted in sequence order; a resend has a key of its own, so it goes now,
 * neither waiting for nor holding back the scheduled ones.
 */
export function deliveryJob(
  event: Pick<EventRow, 'id' | 'object_id'>,
  endpoint: Target,
  at: number,
  resend = false,
): NewJob {
  const id = newId('job');
  const payload: DeliveryPayload = { v: 1, event: event.id, endpoint: endpoint.id };
  const spec = {
    id,
    type: resend ? RESEND : DELIVER,
    customer_id: event.object_id,
    account_id: endpoint.account_id,
    mode: endpoint.mode,
    payload: JSON.stringify(payload),
    ordering_key: resend ? id : `${endpoint.id}:${event.object_id}`,
    event_id: event.id,
    endpoint_id: endpoint.id,
  };
  return queuedJob(spec, at);
}

/**
 * Queues the deliveries of events just written, in their transaction: each event goes to every
 * endpoint of its account and mode that is enabled and wants its type now. One query for the
 * endpoints of the whole batch, one insert for its jobs; neither when `counted` (the enabled
 * endpoints of each account and mode, counted by the events' own numbering statement) says
 * that none of the events' accounts and modes has an endpoint.
 */
export async function enqueueDeliveries(
  trx: Transaction<Database>,
  events: readonly Pick<EventRow, 'id' | 'object_id' | 'account_id' | 'mode' | 'type'>[],
  counted: ReadonlyMap<string, number> = new Map(),
  now = Date.now(),
): Promise<void> {
  const listened = events.filter((event) => counted.get(ownerKey(event)) !== 0);
  if (listened.length === 0) return;
  const accounts = [...new Set(listened.map((e) => e.account_id))].sort();
  const endpoints = await enabledEndpointsOf(trx, accounts);
  if (endpoints.length === 0) return;
  const jobs: NewJob[] = [];
  for (const event of listened) {
    for (const endpoint of endpoints) {
      if (endpoint.account_id !== event.account_id || endpoint.mode !== event.mode) continue;
      if (!matchesEvent(enabledEventsOf(endpoint), event.type)) continue;
      jobs.push(deliveryJob(event, endpoint, now));
    }
  }
  await insertJobs(trx, jobs);
}

/** The customer write hook of every writer: the event, and in its transaction its deliveries. */
export const writeEventAndDeliveries = customerEventHook({
  counted: ENABLED_ENDPOINTS_OF_OWNER,
  written: (trx, events, counted) => enqueueDeliveries(trx, events, counted),
});
