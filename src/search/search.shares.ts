import { setImmediate } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import type { Db } from '../db/index.js';
import { TRIGRAM_COLUMNS } from '../db/migrations.search.js';
import type { Database } from '../db/schema.js';
import { type ShareOf, trigramsOf } from './search.sql.js';
import { sampleColumn } from './search.store.js';

/**
 * How common each trigram is in each indexed column, estimated from a sample of its values, so
 * that a search asks the index about a term's rarest trigrams (search.sql.ts, sampledTrigrams).
 * A trigram's list in the index is as long as the number of values holding it: at a million
 * customers a first name's trigram lists a fifth of a million, a last name's a few hundred, and
 * the search reads every list it asks about whole. Which trigrams are common changes slowly, so
 * the estimate is taken again only now and then (by the search upkeep, search.upkeep.ts), in
 * each process for itself, and kept in memory; being wrong costs time, never an answer, since
 * every candidate is rechecked exactly.
 *
 * The sample is of every account, as the index is: each account's searches are answered from
 * the same lists. What is kept is counts of trigrams, not values, and it never leaves the process.
 */

/** Values sampled per column: a share of 2% (COMMON_SHARE) is then some forty of them. */
export const SAMPLE_SIZE = 2000;
/** How old an estimate may grow before the upkeep takes another. */
export const SHARES_MAX_AGE_MS = 10 * 60_000;
/** Trigrams seen fewer times than this in a sample are not kept: rare, as unseen ones are. */
const KEPT_FROM = 2;

interface Estimate {
  /** Per column, each kept trigram's share of the sampled values. */
  shares: Map<string, Map<string, number>>;
  taken: number;
}

const estimates = new WeakMap<Kysely<Database>, Estimate>();

/** The share of `values` holding each trigram (three characters in a row), of those seen often enough. */
export function trigramShares(values: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const value of values) {
    const chars = Array.from(value);
    const seen = new Set<string>();
    for (let at = 0; at + 3 <= chars.length; at++) seen.add(trigramsOf(chars, at));
    for (const trigram of seen) counts.set(trigram, (counts.get(trigram) ?? 0) + 1);
  }
  const shares = new Map<string, number>();
  for (const [trigram, count] of counts) if (count >= KEPT_FROM) shares.set(trigram, count / values.length);
  return shares;
}

/** The estimate this process holds for `db`, as a ShareOf; undefined before the first is taken. */
export function shareOf(db: Db): ShareOf | undefined {
  const estimate = estimates.get(db.kysely);
  if (estimate === undefined) return undefined;
  return (column, trigram) => estimate.shares.get(column)?.get(trigram) ?? 0;
}

/**
 * Takes a new estimate when there is none or it is older than `maxAgeMs`, and says whether it
 * did. One column at a time, yielding between them: on SQLite each sample runs on the event
 * loop's thread (a few milliseconds).
 */
export async function refreshShares(
  db: Db,
  maxAgeMs = SHARES_MAX_AGE_MS,
  now = Date.now(),
): Promise<boolean> {
  const held = estimates.get(db.kysely);
  // An estimate from the future (the clock went back) is as good as stale.
  if (held !== undefined && now >= held.taken && now - held.taken < maxAgeMs) return false;
  const shares = new Map<string, Map<string, number>>();
  for (const column of TRIGRAM_COLUMNS) {
    shares.set(column, trigramShares(await sampleColumn(db.reader, db.dialect, column, SAMPLE_SIZE)));
    await setImmediate();
  }
  estimates.set(db.kysely, { shares, taken: now });
  return true;
}
