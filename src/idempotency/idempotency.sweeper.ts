import type { Db } from '../db/index.js';
import type { Log } from '../log.js';
import { prune } from './idempotency.service.js';

export interface Sweeper {
  /** Stops the timers and waits for a sweep in progress, so the database can be closed after. */
  stop(): Promise<void>;
}

/**
 * Prunes expired idempotency records every `sweepSeconds` (0: never). Every process sweeps; the
 * deletes are idempotent, so several sweeping at once only repeat work. Timers are unref'd so
 * they never keep a process alive.
 */
export function startSweeper(
  db: Db,
  options: { retentionHours: number; sweepSeconds: number },
  log: Pick<Log, 'info' | 'warn'>,
): Sweeper {
  if (options.sweepSeconds === 0) return { stop: async () => {} };
  const intervalMs = options.sweepSeconds * 1000;
  let running: Promise<void> = Promise.resolve();
  let interval: NodeJS.Timeout | undefined;

  const sweep = () => {
    running = running
      .then(() => prune(db, options.retentionHours))
      .then((pruned) => {
        if (pruned > 0) log.info({ pruned }, 'pruned expired idempotency keys');
      })
      .catch((error: unknown) => log.warn({ err: error }, 'idempotency sweep failed'));
  };

  // The first sweep comes after a random part of the interval: processes started together do not
  // sweep in step, and one restarted more often than the interval still sweeps now and then.
  const first = setTimeout(
    () => {
      sweep();
      interval = setInterval(sweep, intervalMs).unref();
    },
    Math.floor(Math.random() * intervalMs),
  ).unref();

  return {
    async stop() {
      clearTimeout(first);
      clearInterval(interval);
      await running;
    },
  };
}
