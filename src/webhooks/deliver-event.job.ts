import { Type } from '@sinclair/typebox';
import type { Transaction } from 'kysely';
import type { WebhooksConfig } from '../config.js';
import type { Database } from '../db/schema.js';
import { toEvent } from '../events/events.service.js';
import { findEvent } from '../events/events.store.js';
import { newId } from '../ids.js';
import type { DeliveryContext, JobContext, JobOutcome, JobType } from '../jobs/job.js';
import { parsePayload } from '../jobs/job.js';
import type { SecretBox } from '../secret-key.js';
import type { DeliveryPayload } from './deliveries.enqueue.js';
import { type AttemptResult, postEvent } from './deliveries.http.js';
import * as store from './deliveries.store.js';
import { webhookDispatcher } from './webhooks.dispatcher.js';
import { loadActiveSecrets } from './webhooks.secrets.js';
import { findEndpoint } from './webhooks.store.js';

const Payload = Type.Object({ v: Type.Literal(1), event: Type.String(), endpoint: Type.String() });

/** The default retry delays after each failed attempt (10 attempts over about three days). */
export const DEFAULT_SCHEDULE_MS = [
  5_000,
  5 * 60_000,
  30 * 60_000,
  2 * 3_600_000,
  5 * 3_600_000,
  10 * 3_600_000,
  14 * 3_600_000,
  20 * 3_600_000,
  24 * 3_600_000,
];

const HOUR = 3_600_000;

/** What the worker's webhooks lane needs, from the configuration and the process's secret box. */
export function deliveryContext(config: WebhooksConfig, secretBox: SecretBox): DeliveryContext {
  return {
    secretBox,
    dispatcher: webhookDispatcher({ allowPrivate: config.allowPrivate, connectTimeoutMs: config.timeoutMs }),
    timeoutMs: config.timeoutMs,
    schedule: config.retryScheduleMs ?? DEFAULT_SCHEDULE_MS,
    jitter: config.retryScheduleMs === undefined,
    disableAfterMs: 5 * 24 * HOUR,
    random: Math.random,
  };
}

/** When the next attempt may run after `attempt` failed, or null when that was the last. */
export function nextAttemptAt(
  d: Pick<DeliveryContext, 'schedule' | 'jitter' | 'random'>,
  attempt: number,
  now: number,
  retryAfterMs: number | null,
): number | null {
  const delay = d.schedule[attempt - 1];
  if (delay === undefined) return null;
  const jittered = d.jitter ? Math.round(delay * (0.8 + 0.4 * d.random())) : delay;
  // A receiver that asks for time gets it, but never more than an hour.
  const asked = retryAfterMs === null ? 0 : Math.min(retryAfterMs, HOUR);
  return now + Math.max(jittered, asked);
}

async function deliver(ctx: JobContext, p: DeliveryPayload): Promise<JobOutcome> {
  const d = ctx.deliveries;
  if (!d) throw new Error('a webhook delivery ran in a worker without a webhooks lane');
  const { db, job } = ctx;
  const owner = { accountId: job.account_id, mode: job.mode };
  // Reads on the reader: on SQLite they then never wait for a write transaction to end.
  const endpoint = await findEndpoint(db.reader, owner, p.endpoint);
  if (!endpoint) return { status: 'cancelled', note: 'endpoint deleted' };
  if (endpoint.status !== 'enabled') return { status: 'cancelled', note: 'endpoint disabled' };
  // The event as stored now: a deleted customer's events are already redacted to the stub.
  const event = await findEvent(db.reader, owner, p.event);
  if (!event) return { status: 'cancelled', note: 'event pruned' };
  const secrets = await loadActiveSecrets(db.reader, d.secretBox, endpoint.id, ctx.now());
  // Counted at send time: this delivery itself is still pending, as the receiver sees it.
  const pending = (await store.pendingCounts(db.reader, [event.id])).get(event.id) ?? 0;
  const body = JSON.stringify(toEvent(event, pending));
  const result = await postEvent(d, endpoint.url, body, event.id, secrets);
  return outcome(ctx, d, p, result);
}

function outcome(ctx: JobContext, d: DeliveryContext, p: DeliveryPayload, r: AttemptResult): JobOutcome {
  const now = ctx.now();
  const { job } = ctx;
  const row = (next: number | null): store.AttemptRow => ({
    id: newId('wha'),
    account_id: job.account_id,
    mode: job.mode,
    endpoint_id: p.endpoint,
    event_id: p.event,
    attempt: job.attempts,
    status: r.error === null ? 'succeeded' : 'failed',
    http_status: r.httpStatus,
    error: r.error,
    duration_ms: r.durationMs,
    created: Math.floor(now / 1000),
    next_attempt_at: next === null ? null : Math.ceil(next / 1000),
  });
  if (r.error === null) {
    return {
      status: 'succeeded',
      note: `HTTP ${r.httpStatus}`,
      record: async (trx) => {
        await store.insertAttempt(trx, row(null));
        await store.clearFailing(trx, p.endpoint);
      },
    };
  }
  // A resend is one attempt, whatever it gets; a 410 disables the endpoint, so nothing follows.
  const next =
    job.type === store.RESEND || r.httpStatus === 410
      ? null
      : nextAttemptAt(d, job.attempts, now, r.retryAfterMs);
  const error = r.httpStatus === null ? r.error : `${r.error} ${r.httpStatus}`;
  const record = async (trx: Transaction<Database>) => {
    await store.insertAttempt(trx, row(next));
    const since = await store.markFailing(trx, p.endpoint, now);
    if (r.httpStatus === 410 || now - since >= d.disableAfterMs) {
      await store.disableEndpoint(trx, p.endpoint, Math.floor(now / 1000));
      // Its pending deliveries stop with it, in the same transaction (a running one is fenced
      // by its own claim and ends when it settles).
      await store.cancelQueuedDeliveries(trx, p.endpoint, now, 'endpoint disabled');
    }
  };
  return next === null
    ? { status: 'failed', error, record }
    : { status: 'retry', error, runAt: next, record };
}

const deliverEvent: JobType<DeliveryPayload> = {
  type: store.DELIVER,
  parse(raw) {
    return parsePayload(this.type, Payload, raw);
  },
  run: deliver,
};

const resendEvent: JobType<DeliveryPayload> = { ...deliverEvent, type: store.RESEND };

export const DELIVERY_JOB_TYPES: readonly JobType<DeliveryPayload>[] = [deliverEvent, resendEvent];
