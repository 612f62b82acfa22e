import type { Db } from '../db/index.js';
import { pruneEvents } from './events.service.js';

interface Log {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}

export interface Sweeper {
  /** Stops the timers and waits for a sweep in progress, so the database can be closed after. */
  stop(): Promise<void>;
}

/**
 * Prunes events past their retention every `sweepSeconds` (0: never), like the idempotency
 * sweeper: every process sweeps, the deletes are idempotent, the timers never keep a process
 * alive, and the first sweep comes after a random part of the interval so processes started
 * together do not sweep in step.
 */
export function startEventSweeper(
  db: Db,
  options: { retentionDays: number; sweepSeconds: number },
  log: Log,
): Sweeper {
  if (options.sweepSeconds === 0) return { stop: async () => {} };
  const intervalMs = options.sweepSeconds * 1000;
  let running: Promise<void> = Promise.resolve();
  let interval: NodeJS.Timeout | undefined;

  const sweep = () => {
    running = running
      .then(() => pruneEvents(db, options.retentionDays))
      .then((pruned) => {
        if (pruned > 0) log.info({ pruned }, 'pruned events past their retention');
      })
      .catch((error: unknown) => log.warn({ err: error }, 'event sweep failed'));
  };

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
