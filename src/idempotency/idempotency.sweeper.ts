import type { Db } from '../db/index.js';
import { type Sweeper, type SweepLog, startRetentionSweeper } from '../db/sweeper.js';
import { prune } from './idempotency.service.js';

export type { Sweeper } from '../db/sweeper.js';

/** Prunes expired idempotency records every `sweepSeconds` (0: never), as db/sweeper.ts does it. */
export function startSweeper(
  db: Db,
  options: { retentionHours: number; sweepSeconds: number },
  log: SweepLog,
): Sweeper {
  return startRetentionSweeper(
    {
      prune: () => prune(db, options.retentionHours),
      sweepSeconds: options.sweepSeconds,
      prunedMessage: 'pruned expired idempotency keys',
      failedMessage: 'idempotency sweep failed',
    },
    log,
  );
}
