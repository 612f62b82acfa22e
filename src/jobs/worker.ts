import { hostname } from 'node:os';
import type { Db } from '../db/index.js';
import type { CustomerWriteHook } from '../db/write-hooks.js';
import { newId } from '../ids.js';
import type { Log } from '../log.js';
import type { StripeGateway } from '../stripe/gateway.js';
import type { DeliveryContext } from './job.js';
import { LANES, pruneJobs, type RunDeps, type RunSettings, runNext } from './jobs.service.js';

export interface WorkerSettings extends RunSettings {
  /** Stripe jobs run at once by this process (each for a different customer) */
  concurrency: number;
  /**
   * Webhook deliveries run at once by this process, in loops of their own (each claiming up to
   * eight at a time): a receiver that takes its whole timeout holds one of these, never a
   * Stripe loop.
   */
  webhookConcurrency: number;
  /** how often to look for due jobs when there was nothing to do */
  pollMs: number;
  /** how long succeeded and cancelled jobs are kept for operators */
  retentionMs: number;
}

const MINUTE = 60_000;
/** Deliveries one webhooks loop claims at once, and then attempts side by side. */
const DELIVERY_CLAIM = 8;
const HOUR = 60 * MINUTE;

export const DEFAULT_WORKER_SETTINGS: WorkerSettings = {
  concurrency: 4,
  webhookConcurrency: 32,
  pollMs: 1000,
  // Longer than an attempt takes (Stripe calls time out after 20 s), so a live worker keeps its
  // job; a dead worker's job waits this long. Should a rare attempt outlast it (a lookup paging
  // through many customers), fencing discards the late result and the job is simply redone.
  leaseMs: 5 * MINUTE,
  // 1 s, 2 s, 4 s … capped at 5 minutes (each with jitter): an hour-long outage costs a job
  // about twenty tries, and it runs within minutes of Stripe coming back.
  backoff: { baseMs: 1000, maxMs: 5 * MINUTE },
  // About three days of retries at the cap before a job is left for an operator.
  maxAttempts: 1150,
  timing: {
    // Stripe keeps idempotency keys for at least 24 hours; an hour's margin.
    keyTrustMs: 23 * HOUR,
    // Stripe finishes or abandons a request well within this, even one its client gave up on.
    settleMs: 5 * MINUTE,
    clockSkewMs: 5 * MINUTE,
  },
  retentionMs: 7 * 24 * HOUR,
};

export interface Worker {
  readonly id: string;
  /** stops taking jobs, lets the running ones finish and record, then resolves */
  stop(): Promise<void>;
}

export interface WorkerDeps {
  db: Db;
  gateway: StripeGateway;
  log: Log;
  /** writes the events of the changes jobs make (and queues their deliveries) */
  eventHook: CustomerWriteHook;
  /** what deliveries need; without it, this worker runs no webhooks lane */
  deliveries?: DeliveryContext;
  settings?: Partial<WorkerSettings>;
  now?: () => number;
  random?: () => number;
}

/**
 * Runs outbox jobs until stopped. Each of `concurrency` loops claims one job at a time; the claim
 * itself keeps one customer's jobs in order and keeps workers in other processes off the same
 * job, so any number of workers may share a PostgreSQL database (on SQLite, run one).
 */
export function startWorker(deps: WorkerDeps): Worker {
  const settings: WorkerSettings = { ...DEFAULT_WORKER_SETTINGS, ...deps.settings };
  const id = `${hostname()}:${process.pid}:${newId('job').slice(-8)}`;
  const now = deps.now ?? Date.now;
  const run = {
    db: deps.db,
    gateway: deps.gateway,
    log: deps.log,
    settings,
    workerId: id,
    now,
    random: deps.random,
    eventHook: deps.eventHook,
    deliveries: deps.deliveries,
  };
  const stripeRun: RunDeps = { ...run, lane: LANES.stripe };
  // The lease outlasts the longest attempt (the receiver's timeout), so a live worker keeps it.
  const webhookRun = deps.deliveries
    ? {
        ...run,
        lane: LANES.webhooks,
        settings: { ...settings, leaseMs: Math.max(settings.leaseMs, deps.deliveries.timeoutMs + 60_000) },
      }
    : undefined;
  let stopping = false;
  const sleepers = new Set<() => void>();
  let lastPrune = 0;

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      sleepers.add(done);
    });
  }

  async function loop(lane: RunDeps, first: boolean, claim = 1): Promise<void> {
    while (!stopping) {
      let ran = false;
      try {
        if (first && now() - lastPrune > HOUR) {
          lastPrune = now();
          await pruneJobs(deps.db, now() - settings.retentionMs);
        }
        ran = await runNext(lane, claim);
      } catch (error) {
        // The database is unreachable or similar: the jobs are safe in it; try again later.
        deps.log.error({ err: error, worker: id }, 'stripe worker could not reach the job queue');
      }
      if (!ran && !stopping) await sleep(settings.pollMs);
    }
  }

  const loops = Array.from({ length: settings.concurrency }, (_, i) => loop(stripeRun, i === 0));
  if (webhookRun) {
    // Deliveries are claimed several at a time: one claim's commit for a handful of attempts.
    for (let left = settings.webhookConcurrency; left > 0; left -= DELIVERY_CLAIM) {
      loops.push(loop(webhookRun, false, Math.min(left, DELIVERY_CLAIM)));
    }
  }
  deps.log.info(
    {
      worker: id,
      concurrency: settings.concurrency,
      webhook_concurrency: webhookRun ? settings.webhookConcurrency : 0,
    },
    'stripe worker started',
  );

  return {
    id,
    async stop() {
      stopping = true;
      for (const wake of [...sleepers]) wake();
      await Promise.all(loops);
      deps.log.info({ worker: id }, 'stripe worker stopped');
    },
  };
}
