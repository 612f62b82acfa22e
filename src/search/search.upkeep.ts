import { setImmediate } from 'node:timers/promises';
import type { Db } from '../db/index.js';
import { SEARCH_FTS_TABLES } from '../db/migrations.search-windows.js';
import { type Sweeper, type SweepLog, startRetentionSweeper } from '../db/sweeper.js';
import { refreshShares } from './search.shares.js';
import { flushPendingTrigrams, mergeFtsStep } from './search.store.js';

/**
 * Pages one SQLite merge step writes, roughly: FTS5 finishes the list of a term it has begun.
 * On a million customers freshly loaded, a step took 2–3 ms at the median, 35 ms on the company
 * names (the seeded ones share one value, so each list holds every customer), and once 340 ms.
 */
const MERGE_PAGES = 32;
/**
 * How long one SQLite upkeep may go on merging. Each step is a write, and SQLite's writes take
 * turns: a batch of API writes waits for the step in progress, and better-sqlite3 runs it on the
 * event loop's thread, so every request waits for it too (one step, not the whole upkeep: it
 * yields between steps). Every 5 s (the default), that is at most 2% of the writer's time; an
 * index a bulk load left in many segments takes minutes to merge, a day's ordinary writes a
 * few steps.
 */
export const UPKEEP_BUDGET_MS = 100;

/**
 * Puts back the search indexes in the shape searches are fastest in, after writes have left
 * them otherwise, and says how much it did (pages on PostgreSQL, merge steps on SQLite):
 * - PostgreSQL: each GIN index's pending list, moved into the index in bulk (inserts go on
 *   meanwhile; a search reads a pending list whole, so a full one costs every search);
 * - SQLite: FTS5 merge steps, a table at a time in turn, until no table has anything to merge
 *   or `budgetMs` has passed.
 * Writes would do this work themselves in time (PostgreSQL when the pending list fills, SQLite
 * when 16 segments of a level gather); doing it between them keeps both the searches and the
 * writes' latency even.
 */
export async function upkeepSearchIndex(db: Db, budgetMs = UPKEEP_BUDGET_MS): Promise<number> {
  if (db.dialect === 'postgres') return flushPendingTrigrams(db.kysely);
  const end = performance.now() + budgetMs;
  const busy = [...SEARCH_FTS_TABLES];
  let steps = 0;
  while (busy.length > 0 && performance.now() < end) {
    const table = busy.shift() as string;
    if (await mergeFtsStep(db.kysely, table, MERGE_PAGES)) {
      steps++;
      busy.push(table);
    }
    // better-sqlite3 runs each step on this thread: requests that came in meanwhile go first,
    // so none waits for more than one step.
    await setImmediate();
  }
  return steps;
}

/**
 * Runs the upkeep every `upkeepSeconds` (0: never), one at a time, as db/sweeper.ts runs sweeps,
 * and with it keeps this process's estimate of how common each trigram is (search.shares.ts)
 * no older than its limit. The first estimate is taken at once: until there is one, a search
 * asks the index about the first, middle and last trigrams of a term, however common.
 */
export function startSearchUpkeep(db: Db, options: { upkeepSeconds: number }, log: SweepLog): Sweeper {
  const failed = (error: unknown) => log.warn({ err: error }, 'search trigram estimate failed');
  const first = options.upkeepSeconds === 0 ? Promise.resolve() : refreshShares(db).then(() => {}, failed);
  const sweeper = startRetentionSweeper(
    {
      prune: async () => {
        await refreshShares(db);
        return upkeepSearchIndex(db);
      },
      sweepSeconds: options.upkeepSeconds,
      failedMessage: 'search index upkeep failed',
    },
    log,
  );
  return {
    async stop() {
      await first;
      await sweeper.stop();
    },
  };
}
