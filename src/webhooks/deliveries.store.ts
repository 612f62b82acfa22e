import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Database, Mode, WebhookAttemptsTable } from '../db/schema.js';
import type { EndpointRow } from './webhooks.store.js';

type Q = Kysely<Database> | Transaction<Database>;
export type AttemptRow = Selectable<WebhookAttemptsTable>;

/** Job types of deliveries: the scheduled one, and the extra one a resend makes. */
export const DELIVER = 'webhook_delivery';
export const RESEND = 'webhook_resend';

/**
 * How many enabled endpoints one account and mode has, as the events' numbering statement
 * counts it beside the counter (see CountedAlongside).
 */
export const ENABLED_ENDPOINTS_OF_OWNER =
  "select count(*) from webhook_endpoints where account_id = :account and mode = :mode and status = 'enabled'";

/** The enabled endpoints of any of these accounts, for one batch of events. */
export async function enabledEndpointsOf(db: Q, accountIds: readonly string[]): Promise<EndpointRow[]> {
  if (accountIds.length === 0) return [];
  return db
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('account_id', 'in', accountIds)
    .where('status', '=', 'enabled')
    .orderBy('id')
    .execute();
}

export async function insertAttempt(db: Q, row: AttemptRow): Promise<void> {
  await db.insertInto('webhook_attempts').values(row).execute();
}

/** After a 2xx: the endpoint is not failing any more. */
export async function clearFailing(db: Q, endpointId: string): Promise<void> {
  await db
    .updateTable('webhook_endpoints')
    .set({ failing_since: null })
    .where('id', '=', endpointId)
    .where('failing_since', 'is not', null)
    .execute();
}

/** After a failure: the run of failures starts now unless it started earlier; returns its start. */
export async function markFailing(db: Q, endpointId: string, nowMs: number): Promise<number> {
  await db
    .updateTable('webhook_endpoints')
    .set({ failing_since: nowMs })
    .where('id', '=', endpointId)
    .where('failing_since', 'is', null)
    .execute();
  const row = await db
    .selectFrom('webhook_endpoints')
    .select('failing_since')
    .where('id', '=', endpointId)
    .executeTakeFirst();
  return row?.failing_since == null ? nowMs : Number(row.failing_since);
}

export async function disableEndpoint(db: Q, endpointId: string, nowSeconds: number): Promise<void> {
  await db
    .updateTable('webhook_endpoints')
    .set({ status: 'disabled', updated: nowSeconds })
    .where('id', '=', endpointId)
    .execute();
}

/** Cancels the endpoint's deliveries waiting for their turn: it has been disabled or deleted. */
export async function cancelQueuedDeliveries(
  db: Q,
  endpointId: string,
  nowMs: number,
  note: 'endpoint disabled' | 'endpoint deleted',
): Promise<void> {
  await db
    .updateTable('jobs')
    .set({ state: 'cancelled', note, finished_at: nowMs })
    .where('endpoint_id', '=', endpointId)
    .where('state', '=', 'queued')
    .execute();
}

/**
 * Per event, the endpoints still waiting for it: scheduled deliveries neither succeeded nor
 * finally failed (nor cancelled). One query for a page of events.
 */
export async function pendingCounts(db: Q, eventIds: readonly string[]): Promise<Map<string, number>> {
  if (eventIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('jobs')
    .select(['event_id', (eb) => eb.fn.count<number>('endpoint_id').distinct().as('n')])
    .where('event_id', 'in', eventIds)
    .where('type', '=', DELIVER)
    .where('state', 'in', ['queued', 'running'])
    .groupBy('event_id')
    .execute();
  return new Map(rows.map((r) => [r.event_id as string, Number(r.n)]));
}

/** Per endpoint of one account and mode (or of all, for operators): pending and failed deliveries. */
export async function deliveryCounts(
  db: Q,
  endpointIds: readonly string[],
): Promise<Map<string, { pending: number; failed: number }>> {
  const counts = new Map<string, { pending: number; failed: number }>();
  if (endpointIds.length === 0) return counts;
  const rows = await db
    .selectFrom('jobs')
    .select(['endpoint_id', 'state', (eb) => eb.fn.countAll<number>().as('n')])
    .where('endpoint_id', 'in', endpointIds)
    .where('state', 'in', ['queued', 'running', 'failed'])
    .groupBy(['endpoint_id', 'state'])
    .execute();
  for (const r of rows) {
    const entry = counts.get(r.endpoint_id as string) ?? { pending: 0, failed: 0 };
    if (r.state === 'failed') entry.failed += Number(r.n);
    else entry.pending += Number(r.n);
    counts.set(r.endpoint_id as string, entry);
  }
  return counts;
}

/** A page of one endpoint's attempts by keyset on the id, `limit + 1` rows in walking order. */
export async function listAttempts(
  db: Q,
  endpointId: string,
  page: { limit: number; cursor?: string; direction: 'older' | 'newer' },
  eventId?: string,
): Promise<AttemptRow[]> {
  let query = db.selectFrom('webhook_attempts').selectAll().where('endpoint_id', '=', endpointId);
  if (eventId !== undefined) query = query.where('event_id', '=', eventId);
  if (page.cursor !== undefined)
    query = query.where('id', page.direction === 'older' ? '<' : '>', page.cursor);
  return query
    .orderBy('id', page.direction === 'older' ? 'desc' : 'asc')
    .limit(page.limit + 1)
    .execute();
}

/**
 * Recovery's next batch: events of the endpoint's account and mode, of the given types,
 * created since `since`, after sequence `after`, that the endpoint never took with a 2xx.
 */
export async function eventsToRecover(
  db: Q,
  owner: { accountId: string; mode: Mode },
  endpointId: string,
  query: { since: number; after: number; types: readonly string[]; limit: number },
) {
  return db
    .selectFrom('events as ev')
    .select(['ev.id', 'ev.object_id', 'ev.sequence'])
    .where('ev.account_id', '=', owner.accountId)
    .where('ev.mode', '=', owner.mode)
    .where('ev.created', '>=', query.since)
    .where('ev.sequence', '>', query.after)
    .where('ev.type', 'in', query.types as Database['events']['type'][])
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('webhook_attempts as a')
            .select('a.id')
            .where('a.endpoint_id', '=', endpointId)
            .whereRef('a.event_id', '=', 'ev.id')
            .where('a.status', '=', 'succeeded'),
        ),
      ),
    )
    .orderBy('ev.sequence')
    .limit(query.limit)
    .execute();
}
