import type { Db } from '../db/index.js';
import { type Sweeper, type SweepLog, startRetentionSweeper } from '../db/sweeper.js';
import { pruneEvents } from './events.service.js';

export type { Sweeper } from '../db/sweeper.js';

/** Prunes events past their retention every `sweepSeconds` (0: never), as db/sweeper.ts does it. */
export function startEventSweeper(
  db: Db,
  options: { retentionDays: number; sweepSeconds: number },
  log: SweepLog,
): Sweeper {
  return startRetentionSweeper(
    {
      prune: () => pruneEvents(db, options.retentionDays),
      sweepSeconds: options.sweepSeconds,
      prunedMessage: 'pruned events past their retention',
      failedMessage: 'event sweep failed',
    },
    log,
  );
}
