import type { AuthContext } from '../accounts/keys.js';
import type { Db } from '../db/index.js';
import type { BeforeCommit } from '../db/write-hooks.js';
import { AppError } from '../errors.js';
import { EVENT_TYPES } from '../events/events.schema.js';
import { notFound as eventNotFound } from '../events/events.service.js';
import { findEvent } from '../events/events.store.js';
import { isId } from '../ids.js';
import { insertJobs } from '../jobs/jobs.store.js';
import { deliveryJob } from './deliveries.enqueue.js';
import type {
  ListAttemptsQuery,
  RecoverBody,
  Recovery,
  Resend,
  ResendBody,
  WebhookAttempt,
  WebhookAttemptList,
} from './deliveries.schema.js';
import * as store from './deliveries.store.js';
import { enabledEventsOf, matchesEvent, notFound } from './webhooks.service.js';
import { findEndpoint, type Owner } from './webhooks.store.js';

export interface DeliveryDeps {
  db: Db;
  /** events older than this are pruned, so `recover` cannot reach further back */
  retentionDays: number;
}

const owner = (auth: AuthContext): Owner => ({ accountId: auth.accountId, mode: auth.mode });
/** Recovery reads and queues this many events at a time, so memory stays bounded. */
const RECOVER_BATCH = 500;

/** The one place a stored attempt becomes the API's object. */
export function toAttempt(row: store.AttemptRow): WebhookAttempt {
  return {
    id: row.id,
    object: 'webhook_attempt',
    endpoint: row.endpoint_id,
    event: row.event_id,
    attempt: row.attempt,
    status: row.status,
    http_status: row.http_status,
    error: row.error,
    duration_ms: row.duration_ms,
    created: Number(row.created),
    next_attempt_at: row.next_attempt_at === null ? null : Number(row.next_attempt_at),
  };
}

const invalid = (param: string, message: string) => new AppError('parameter_invalid', message, param);

function idParam(prefix: 'wha' | 'evt' | 'we', value: string | undefined, param: string) {
  if (value !== undefined && !isId(prefix, value)) {
    throw invalid(param, `Invalid ${param}: '${value}' is not a ${prefix}_ id.`);
  }
  return value;
}

async function endpointOf(deps: DeliveryDeps, auth: AuthContext, id: string) {
  const row = isId('we', id) ? await findEndpoint(deps.db.reader, owner(auth), id) : undefined;
  if (!row) throw notFound(id);
  return row;
}

export async function listAttempts(
  deps: DeliveryDeps,
  auth: AuthContext,
  endpointId: string,
  query: ListAttemptsQuery,
): Promise<WebhookAttemptList> {
  if (query.starting_after !== undefined && query.ending_before !== undefined) {
    throw new AppError('parameters_exclusive', 'Only one of starting_after and ending_before may be given.');
  }
  const endpoint = await endpointOf(deps, auth, endpointId);
  const limit = query.limit ?? 10;
  const newer = query.ending_before !== undefined;
  const cursor = newer
    ? idParam('wha', query.ending_before, 'ending_before')
    : idParam('wha', query.starting_after, 'starting_after');
  const event = idParam('evt', query.event, 'event');
  const rows = await store.listAttempts(
    deps.db.reader,
    endpoint.id,
    { limit, cursor, direction: newer ? 'newer' : 'older' },
    event,
  );
  const shown = rows.slice(0, limit);
  if (newer) shown.reverse();
  return {
    object: 'list',
    url: `/v1/webhook_endpoints/${endpoint.id}/attempts`,
    has_more: rows.length > limit,
    data: shown.map(toAttempt),
  };
}

/**
 * One more delivery of the event to the endpoint, now. It is a job of its own with an ordering
 * key of its own: it neither waits for the event's scheduled delivery nor changes its schedule.
 */
export async function resendEvent(
  deps: DeliveryDeps,
  auth: AuthContext,
  eventId: string,
  body: ResendBody,
  beforeCommit?: BeforeCommit,
): Promise<Resend> {
  const event = isId('evt', eventId) ? await findEvent(deps.db.reader, owner(auth), eventId) : undefined;
  if (!event) throw eventNotFound(eventId);
  idParam('we', body.endpoint, 'endpoint');
  const endpoint = await findEndpoint(deps.db.reader, owner(auth), body.endpoint);
  if (!endpoint)
    throw new AppError('resource_missing', `No such webhook endpoint: '${body.endpoint}'.`, 'endpoint');
  const answer: Resend = { object: 'resend', event: event.id, endpoint: endpoint.id };
  await deps.db.kysely.transaction().execute(async (trx) => {
    await insertJobs(trx, [deliveryJob(event, endpoint, Date.now(), true)]);
    await beforeCommit?.(trx, { status: 200, body: answer });
  });
  return answer;
}

/**
 * Queues, in sequence order, every event since `since` of the types the endpoint wants that it
 * has not taken with a 2xx, whenever written (before the endpoint existed, or while disabled).
 */
export async function recoverEndpoint(
  deps: DeliveryDeps,
  auth: AuthContext,
  endpointId: string,
  body: RecoverBody,
  beforeCommit?: BeforeCommit,
): Promise<Recovery> {
  const endpoint = await endpointOf(deps, auth, endpointId);
  const now = Date.now();
  const oldest = Math.floor(now / 1000) - deps.retentionDays * 86_400;
  if (body.since < oldest || body.since > Math.floor(now / 1000)) {
    throw invalid(
      'since',
      `Invalid since: ${body.since} must be unix seconds within the last ${deps.retentionDays} days.`,
    );
  }
  const types = EVENT_TYPES.filter((t) => matchesEvent(enabledEventsOf(endpoint), t));
  return deps.db.kysely.transaction().execute(async (trx) => {
    let queued = 0;
    let after = 0;
    for (;;) {
      const batch = await store.eventsToRecover(trx, owner(auth), endpoint.id, {
        since: body.since,
        after,
        types,
        limit: RECOVER_BATCH,
      });
      await insertJobs(
        trx,
        batch.map((e) => deliveryJob(e, endpoint, now)),
      );
      queued += batch.length;
      if (batch.length < RECOVER_BATCH) break;
      after = Number(batch.at(-1)?.sequence);
    }
    const answer: Recovery = { object: 'recovery', endpoint: endpoint.id, queued };
    await beforeCommit?.(trx, { status: 200, body: answer });
    return answer;
  });
}

/** One endpoint as the operators' command line lists it, with its deliveries not yet done. */
export interface EndpointDeliveries {
  id: string;
  account: string;
  mode: 'test' | 'live';
  /** without its query string or fragment, which may carry a receiver's token */
  url: string;
  status: 'enabled' | 'disabled';
  enabled_events: string[];
  pending: number;
  failed: number;
}

function bareUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return url.replace(/[?#].*$/s, '');
  }
}

/** Every endpoint of every account, oldest first, for `lunipay webhooks list`. */
export async function endpointDeliveries(db: Db): Promise<EndpointDeliveries[]> {
  const rows = await db.kysely.selectFrom('webhook_endpoints').selectAll().orderBy('id').execute();
  const counts = await store.deliveryCounts(
    db.kysely,
    rows.map((r) => r.id),
  );
  return rows.map((r) => ({
    id: r.id,
    account: r.account_id,
    mode: r.mode,
    url: bareUrl(r.url),
    status: r.status,
    enabled_events: enabledEventsOf(r),
    pending: counts.get(r.id)?.pending ?? 0,
    failed: counts.get(r.id)?.failed ?? 0,
  }));
}

export interface DeliveriesStatus {
  /** deliveries queued, waiting for a retry, or running */
  pending: number;
  running: number;
  failed: number;
  endpoints_disabled: number;
  oldest_pending_age_seconds: number | null;
}

/** The totals of every account's deliveries, for `lunipay webhooks status`. */
export async function deliveriesStatus(db: Db, now: number): Promise<DeliveriesStatus> {
  const jobs = await db.kysely
    .selectFrom('jobs')
    .select(['state', (eb) => eb.fn.countAll<number>().as('n'), (eb) => eb.fn.min('created').as('oldest')])
    .where('type', 'in', [store.DELIVER, store.RESEND])
    .where('state', 'in', ['queued', 'running', 'failed'])
    .groupBy('state')
    .execute();
  const disabled = await db.kysely
    .selectFrom('webhook_endpoints')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('status', '=', 'disabled')
    .executeTakeFirstOrThrow();
  const count = (state: string) => Number(jobs.find((j) => j.state === state)?.n ?? 0);
  const oldest = jobs
    .filter((j) => j.state !== 'failed' && j.oldest != null)
    .map((j) => Number(j.oldest))
    .reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY);
  return {
    pending: count('queued') + count('running'),
    running: count('running'),
    failed: count('failed'),
    endpoints_disabled: Number(disabled.n),
    oldest_pending_age_seconds: Number.isFinite(oldest)
      ? Math.max(0, Math.floor((now - oldest) / 1000))
      : null,
  };
}
