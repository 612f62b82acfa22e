/** What a sweeper logs through: the server's or worker's logger, or a test's list of lines. */
export interface SweepLog {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}

export interface Sweeper {
  /** Stops the timers and waits for a sweep in progress, so the database can be closed after. */
  stop(): Promise<void>;
}

export interface SweeperOptions {
  /** Deletes what is past its retention and says how many rows went. */
  prune: () => Promise<number>;
  /** Seconds between sweeps; 0: never sweep. */
  sweepSeconds: number;
  /** Logged, with the count, after a sweep that deleted something; unset: nothing is logged. */
  prunedMessage?: string;
  /** Logged, with the error, after a sweep that failed; the next one tries again. */
  failedMessage: string;
}

/**
 * Runs `prune` every `sweepSeconds`, one sweep at a time: retention sweeps, and the search
 * index's upkeep. Every process sweeps: both are idempotent, so several sweeping at once only
 * repeat work. Timers are unref'd so they never keep a process alive.
 */
export function startRetentionSweeper(options: SweeperOptions, log: SweepLog): Sweeper {
  if (options.sweepSeconds === 0) return { stop: async () => {} };
  const intervalMs = options.sweepSeconds * 1000;
  let running: Promise<void> = Promise.resolve();
  let interval: NodeJS.Timeout | undefined;

  const sweep = () => {
    running = running
      .then(options.prune)
      .then((pruned) => {
        if (pruned > 0 && options.prunedMessage !== undefined) log.info({ pruned }, options.prunedMessage);
      })
      .catch((error: unknown) => log.warn({ err: error }, options.failedMessage));
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
