import type { Transaction } from 'kysely';
import type { Db } from '../db/index.js';
import type { Database } from '../db/schema.js';
import type { CustomerWriteHook } from '../db/write-hooks.js';
import { AppError } from '../errors.js';
import type { Log } from '../log.js';
import { MAIL_JOB_TYPES } from '../mail/mail.job.js';
import type { MailContext } from '../mail/mail.types.js';
import type { StripeGateway } from '../stripe/gateway.js';
import { DELIVERY_JOB_TYPES } from '../webhooks/deliver-event.job.js';
import { deleteCustomer } from './delete-customer.job.js';
import type { DeliveryContext, JobOutcome, JobType, RecoveryTiming } from './job.js';
import * as store from './jobs.store.js';
import { provisionCustomer } from './provision-customer.job.js';
import { updateCustomer } from './update-customer.job.js';

/** Every job type the worker knows, by the name stored in `jobs.type`. */
const STRIPE_JOB_TYPES: JobType<unknown>[] = [provisionCustomer, updateCustomer, deleteCustomer].map(
  (t) => t as JobType<unknown>,
);
const JOB_TYPES = new Map<string, JobType<unknown>>(
  [
    ...STRIPE_JOB_TYPES,
    ...(DELIVERY_JOB_TYPES as JobType<unknown>[]),
    ...(MAIL_JOB_TYPES as JobType<unknown>[]),
  ].map((t) => [t.type, t]),
);

/** The Stripe calls and the webhook deliveries: loops of one lane never wait on the other's jobs. */
export const LANES = {
  // A Stripe job's result writes a customer, its event and its deliveries: its own transaction,
  // so that a write that fails there never sends a batch of requests' writes round again.
  stripe: { types: STRIPE_JOB_TYPES.map((t) => t.type), blocking: store.UNFINISHED, sharesCommits: false },
  // Deliveries are many and small: their claims and results join the requests' commits.
  webhooks: {
    types: DELIVERY_JOB_TYPES.map((t) => t.type),
    blocking: ['queued', 'running'],
    sharesCommits: true,
  },
  // Each mail has an ordering key of its own: none waits for another. Its own transactions:
  // mails are few.
  mail: { types: MAIL_JOB_TYPES.map((t) => t.type), blocking: ['queued', 'running'], sharesCommits: false },
} satisfies Record<string, store.Lane>;

/**
 * A transaction for the worker's own writes on `lane`: through group commit when the lane
 * shares commits (`fn` may then run twice, so it only runs its statements), else its own.
 */
function transact<T>(deps: RunDeps, fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  return deps.lane.sharesCommits ? deps.db.write(fn) : deps.db.kysely.transaction().execute(fn);
}

export interface RunSettings {
  /** how long a claim holds a job; longer than any attempt can take */
  leaseMs: number;
  backoff: { baseMs: number; maxMs: number };
  /** a job still failing with retryable errors after this many attempts is dead */
  maxAttempts: number;
  timing: RecoveryTiming;
}

export interface RunDeps {
  db: Db;
  gateway: StripeGateway;
  log: Log;
  settings: RunSettings;
  lane: store.Lane;
  eventHook: CustomerWriteHook;
  deliveries?: DeliveryContext;
  mail?: MailContext;
  workerId: string;
  now(): number;
  random?(): number;
}

const MAX_ERROR_LENGTH = 1000;

/**
 * Exponential backoff with "equal jitter": the delay grows as base·2^(attempt−1) up to the cap,
 * and half of it is random, so jobs that failed together during an outage do not all come
 * back at the same moment, while each still waits at least half its step.
 */
export function backoffMs(attempt: number, backoff: RunSettings['backoff'], random = Math.random): number {
  const step = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.min(attempt - 1, 40));
  return Math.round(step / 2 + (random() * step) / 2);
}

/**
 * Claims the next runnable jobs (up to `claim`, in one transaction: jobs of different ordering
 * keys, since a claimed job holds back the later ones of its key) and runs them side by side;
 * false when none was ready.
 */
export async function runNext(deps: RunDeps, claim = 1): Promise<boolean> {
  const now = deps.now();
  const claimed = await transact(deps, async (trx): Promise<Claimed[] | undefined> => {
    const taken: Claimed[] = [];
    const lease = { now, workerId: deps.workerId, leaseUntil: now + deps.settings.leaseMs };
    while (taken.length < claim) {
      const seen = await store.findClaimable(trx, now, deps.db.locksRows, deps.lane);
      if (!seen) break;
      // Another process took it between our read and our write: there may be more.
      if (!(await store.markRunning(trx, seen, lease))) return taken.length > 0 ? taken : undefined;
      const job: store.JobRow = {
        ...seen,
        state: 'running',
        attempts: seen.attempts + 1,
        locked_by: deps.workerId,
        locked_until: lease.leaseUntil,
        attempted_at: now,
        first_attempt_at: seen.first_attempt_at ?? now,
      };
      taken.push({ job, previousAttemptAt: seen.attempted_at });
    }
    return taken;
  });
  if (claimed === undefined) return true;
  if (claimed.length === 0) return false;
  await Promise.all(
    claimed.map(async (c) => {
      const outcome = await attempt(deps, c.job, c.previousAttemptAt);
      await settle(deps, c, outcome);
    }),
  );
  return true;
}

interface Claimed {
  job: store.JobRow;
  previousAttemptAt: number | null;
}

async function attempt(
  deps: RunDeps,
  job: store.JobRow,
  previousAttemptAt: number | null,
): Promise<JobOutcome> {
  const type = JOB_TYPES.get(job.type);
  if (!type) return { status: 'failed', error: `unknown job type '${job.type}'` };
  let payload: unknown;
  try {
    payload = type.parse(job.payload);
  } catch (error) {
    return { status: 'failed', error: describe(error) };
  }
  const ctx = {
    db: deps.db,
    gateway: deps.gateway,
    job,
    previousAttemptAt,
    now: deps.now,
    eventHook: deps.eventHook,
    deliveries: deps.deliveries,
    mail: deps.mail,
  };
  try {
    return await type.run({ ...ctx, timing: deps.settings.timing }, payload);
  } catch (error) {
    // Not a Stripe answer: most likely the database went away. Worth another try.
    return { status: 'retry', error: describe(error) };
  }
}

/** The attempt's write back was refused: another claim replaced this one. */
class LeaseLost extends Error {}

async function settle(deps: RunDeps, claimed: Claimed, outcome: JobOutcome): Promise<void> {
  const { job } = claimed;
  const now = deps.now();
  const held = { seq: job.seq, attempts: job.attempts, workerId: deps.workerId };
  const kind =
    job.endpoint_id !== null ? 'webhook delivery' : deps.lane === LANES.mail ? 'mail job' : 'stripe job';
  const fields = {
    job: job.id,
    type: job.type,
    customer: job.customer_id,
    attempt: job.attempts,
    worker: deps.workerId,
  };
  let end: store.JobEnd;
  if (outcome.status === 'succeeded') {
    end = { state: 'succeeded', finished_at: now, note: outcome.note ?? null };
  } else if (outcome.status === 'cancelled') {
    // Nothing was tried (a delivery whose endpoint is gone or disabled): not an attempt.
    end = { state: 'cancelled', finished_at: now, note: outcome.note, attempts: job.attempts - 1 };
  } else if (outcome.status === 'wait') {
    // Nothing was tried: the attempt is given back, and so is the time of the one before, which
    // is what the job waits on.
    end = {
      state: 'queued',
      run_at: outcome.until,
      attempts: job.attempts - 1,
      attempted_at: claimed.previousAttemptAt,
      note: outcome.note,
    };
  } else {
    const dead = outcome.status === 'retry' && job.attempts >= deps.settings.maxAttempts;
    const state = outcome.status === 'failed' ? 'failed' : dead ? 'dead' : 'queued';
    const retryAt =
      outcome.status === 'retry' && outcome.runAt !== undefined
        ? outcome.runAt
        : now + backoffMs(job.attempts, deps.settings.backoff, deps.random);
    const runAt = state === 'queued' ? retryAt : now;
    end = { state, run_at: runAt, last_error: outcome.error.slice(0, MAX_ERROR_LENGTH), last_error_at: now };
    if (state === 'failed') end.finished_at = now;
    if (outcome.payload !== undefined) end.payload = outcome.payload;
  }
  try {
    await transact(deps, async (trx) => {
      // The effect first, then the job: a customer write locks its customer row before its jobs,
      // and taking them in the same order here means the two can never deadlock.
      if ('record' in outcome) await outcome.record?.(trx);
      if (!(await store.endAttempt(trx, held, end))) throw new LeaseLost();
    });
  } catch (error) {
    if (!(error instanceof LeaseLost)) throw error;
    // The lease ran out and another attempt took over; its result stands, not this one.
    deps.log.warn(fields, `${kind} lease lost; result of this attempt discarded`);
    return;
  }
  if (outcome.status === 'succeeded') {
    deps.log.info({ ...fields, note: outcome.note }, `${kind} succeeded`);
  } else if (outcome.status === 'cancelled') {
    deps.log.info({ ...fields, note: outcome.note }, `${kind} cancelled`);
  } else if (outcome.status === 'wait') {
    deps.log.info({ ...fields, note: outcome.note }, 'stripe job waiting');
  } else {
    const log = end.state === 'queued' ? deps.log.warn : deps.log.error;
    const retryIn = end.state === 'queued' ? (end.run_at as number) - now : undefined;
    log.call(
      deps.log,
      { ...fields, state: end.state, error: end.last_error, retry_in_ms: retryIn },
      `${kind} ${end.state}`,
    );
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

export interface StripeStatus {
  /** jobs not finished yet: waiting, backing off or running */
  pending: number;
  running: number;
  failed: number;
  dead: number;
  oldest_pending_age_seconds: number | null;
  last_errors: {
    id: string;
    type: string;
    customer: string;
    state: string;
    attempts: number;
    error: string;
    at: number;
  }[];
}

export async function stripeStatus(db: Db, now: number): Promise<StripeStatus> {
  // The Stripe lane's jobs only: deliveries and mail have their own status.
  const types = LANES.stripe.types;
  const counts = await store.countByState(db.kysely, types);
  const oldest = await store.oldestPendingCreated(db.kysely, types);
  const errors = await store.recentErrors(db.kysely, types, 10);
  const count = (state: store.JobState) => counts.get(state) ?? 0;
  return {
    pending: count('queued') + count('running'),
    running: count('running'),
    failed: count('failed'),
    dead: count('dead'),
    oldest_pending_age_seconds: oldest === null ? null : Math.max(0, Math.floor((now - oldest) / 1000)),
    last_errors: errors.map((j) => ({
      id: j.id,
      type: j.type,
      customer: j.customer_id,
      state: j.state,
      attempts: j.attempts,
      error: j.last_error ?? '',
      at: Math.floor((j.last_error_at ?? 0) / 1000),
    })),
  };
}

/**
 * Puts a failed or dead job back in the queue with a fresh count of attempts, or makes a job
 * that is waiting out a backoff due now. Anything else is refused.
 */
export async function retryJob(db: Db, id: string, now: number): Promise<{ id: string; state: 'queued' }> {
  const job = await store.findJob(db.kysely, id);
  if (!job) throw new AppError('resource_missing', `No such job: '${id}'.`, 'job');
  const refused: Partial<Record<store.JobState, string>> = {
    running: 'is running',
    succeeded: 'has already succeeded',
    cancelled: 'was cancelled (superseded, or its customer was deleted)',
  };
  const why = refused[job.state];
  if (why) {
    throw new AppError(
      'parameter_invalid',
      `Job ${id} ${why}; only failed, dead or waiting jobs can be retried.`,
      'job',
    );
  }
  const reset = job.state === 'queued' ? {} : { attempts: 0 };
  await store.setJobs(db.kysely, [job.seq], { state: 'queued', run_at: now, ...reset });
  return { id, state: 'queued' };
}

/** Forgets succeeded and cancelled jobs finished before `before`. */
export async function pruneJobs(db: Db, before: number): Promise<number> {
  return store.pruneFinished(db.kysely, before);
}
