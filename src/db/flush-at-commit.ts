import type { Transaction } from 'kysely';
import type { Database } from './schema.js';

/**
 * Work a write hands over to be done once for its whole transaction, just before COMMIT.
 *
 * Group commit runs many writes in one transaction, and some work is best done once for all of
 * them, and last. The event log's sequence counters are the case in point (events.store.ts):
 * taken write by write, a batch locks the counters of its accounts in the order its writes came,
 * and between two of them it may wait for a customer row that another batch holds, while that
 * batch waits for a counter this one holds. PostgreSQL breaks such a deadlock only after
 * deadlock_timeout (1 s), so writes of several accounts at once slowed to a crawl. Taken once,
 * after every row lock of the batch and in a fixed order, the counters cannot close a cycle.
 *
 * Only the transactions group commit opens are flushed: elsewhere `handToCommit` answers false
 * and the caller does its work at once, so nothing handed over is ever dropped.
 */

export type Flush<T> = (trx: Transaction<Database>, values: T[]) => Promise<void>;

const open = new WeakMap<Transaction<Database>, Map<Flush<unknown>, unknown[]>>();

/** Called by group commit as a transaction starts: work handed over in it will be flushed. */
export function openFlushes(trx: Transaction<Database>): void {
  open.set(trx, new Map());
}

/**
 * Called by group commit after the last write of the transaction, before COMMIT: each flush runs
 * once, with every value handed to it, in the order the flushes were first used.
 */
export async function runFlushes(trx: Transaction<Database>): Promise<void> {
  const flushes = open.get(trx);
  open.delete(trx);
  for (const [flush, values] of flushes ?? []) await flush(trx, values);
}

/**
 * Hands `value` to `flush`, to run once for the transaction just before COMMIT; `flush` must be
 * the same function every time (a module constant) for values to be gathered into one call.
 * False when this transaction is not flushed: then do the work now.
 */
export function handToCommit<T>(trx: Transaction<Database>, flush: Flush<T>, value: T): boolean {
  const flushes = open.get(trx);
  if (!flushes) return false;
  const values = flushes.get(flush as Flush<unknown>);
  if (values) values.push(value);
  else flushes.set(flush as Flush<unknown>, [value]);
  return true;
}
