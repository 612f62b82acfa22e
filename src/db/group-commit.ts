import type { Kysely, Transaction } from 'kysely';
import { isUnavailable } from './errors.js';
import { HeldWrites } from './held-writes.js';
import type { Database } from './schema.js';

/**
 * Values that writes committed together hand over to be written as one: the rows of many writes in
 * one multi-row statement, say, which on PostgreSQL is one round trip instead of one per write.
 * The owner of the SQL supplies it; group commit only pools the values and calls `flush`.
 */
export interface Coalescer<V> {
  /** Values of coalescers with the same key, in one transaction, go to one `flush`. */
  readonly key: string;
  /**
   * 'before': flushed before the batch's write functions run (rows they depend on); values can
   * only be given up front, in the write's options. 'after': flushed once after all of them, just
   * before COMMIT; values can also be added while a write function runs.
   */
  readonly phase: 'before' | 'after';
  /**
   * Writes the values, in the order the writes gave them. Pure SQL on `trx`, like a write function.
   * `held` is the phase's (db/held-writes.ts): inserts a flush holds there ride on a statement of
   * a flush after it, or run as one statement when the phase ends.
   */
  flush(trx: Transaction<Database>, values: V[], held: HeldWrites): Promise<void>;
}

/** A value for a coalescer, given up front in a write's options. */
export interface Coalesced<V> {
  readonly coalescer: Coalescer<V>;
  readonly value: V;
}

/** What a write function gets besides `trx`. */
export interface WriteBatch {
  /**
   * Adds a value for an 'after' coalescer, flushed with the rest of the batch's values just
   * before COMMIT. If this run of the write is rolled back, the value goes with it.
   */
  add<V>(coalescer: Coalescer<V>, value: V): void;
}

export type WriteFn<T> = (trx: Transaction<Database>, batch: WriteBatch) => Promise<T>;

export interface WriteOptions {
  /** Values this write hands to coalescers before it runs (a row it inserts, say). */
  coalesce?: readonly Coalesced<unknown>[];
}

interface Pending {
  fn: WriteFn<unknown>;
  coalesce: readonly Coalesced<unknown>[];
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** The values one run of one write hands over: those of its options, then those it adds. */
class Run implements WriteBatch {
  readonly values: Coalesced<unknown>[];
  private open = true;

  constructor(pending: Pending) {
    this.values = [...pending.coalesce];
  }

  add<V>(coalescer: Coalescer<V>, value: V): void {
    if (coalescer.phase !== 'after') {
      throw new Error(
        `coalescer ${coalescer.key} is flushed before the writes run: give its values up front`,
      );
    }
    if (!this.open) throw new Error(`a value for ${coalescer.key} was added after its write had returned`);
    this.values.push({ coalescer, value } as Coalesced<unknown>);
  }

  close(): void {
    this.open = false;
  }
}

/**
 * Flushes the values of one phase, coalescer by coalescer in the order of their keys, so that
 * batches committing at once take whatever locks their flushes take in the same order.
 */
async function flushPhase(
  trx: Transaction<Database>,
  runs: readonly Run[],
  phase: Coalescer<unknown>['phase'],
) {
  const byKey = new Map<string, { coalescer: Coalescer<unknown>; values: unknown[] }>();
  for (const run of runs) {
    for (const { coalescer, value } of run.values) {
      if (coalescer.phase !== phase) continue;
      const group = byKey.get(coalescer.key);
      if (group) group.values.push(value);
      else byKey.set(coalescer.key, { coalescer, values: [value] });
    }
  }
  const held = new HeldWrites();
  for (const key of [...byKey.keys()].sort()) {
    const group = byKey.get(key) as { coalescer: Coalescer<unknown>; values: unknown[] };
    await group.coalescer.flush(trx, group.values, held);
  }
  await held.release(trx);
}

/** Runs writes in `trx`: the 'before' values, every write function in order, the 'after' values. */
async function runWrites(trx: Transaction<Database>, batch: readonly Pending[]): Promise<unknown[]> {
  const runs = batch.map((pending) => new Run(pending));
  await flushPhase(trx, runs, 'before');
  const values: unknown[] = [];
  for (const [i, pending] of batch.entries()) {
    const run = runs[i] as Run;
    try {
      values.push(await pending.fn(trx, run));
    } finally {
      run.close();
    }
  }
  await flushPhase(trx, runs, 'after');
  return values;
}

export interface GroupCommitOptions {
  /** Batches committing at once: 1 on SQLite (one writer); several on PostgreSQL's pool. */
  concurrency: number;
  maxBatch?: number;
}

/**
 * Group commit. On SQLite a write's cost is its commit's fsync; on PostgreSQL it is the round
 * trips (BEGIN, the statements, COMMIT) and the commit. Writes that arrive while batches are
 * committing wait, then run together, in order, in the next transaction. Every caller is
 * answered only after the transaction holding its write has committed, so an acknowledged write
 * is durable. A lone write waits only for the current turn of the event loop.
 *
 * A write that fails must fail only its own caller. A savepoint per write would cost PostgreSQL
 * a round trip each, so instead the whole batch rolls back (nothing of it happened) and each of
 * its writes runs again in a transaction of its own, flushing only its own coalesced values.
 * A write function may therefore run twice: it must do nothing but its statements on `trx`
 * (and hand values to coalescers through its `batch`).
 */
export class GroupCommit {
  private queue: Pending[] = [];
  private scheduled = false;
  private running = 0;
  private readonly maxBatch: number;

  constructor(
    private readonly kysely: Kysely<Database>,
    private readonly options: GroupCommitOptions,
  ) {
    this.maxBatch = options.maxBatch ?? 256;
  }

  run<T>(fn: WriteFn<T>, options: WriteOptions = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({
        fn: fn as WriteFn<unknown>,
        coalesce: options.coalesce ?? [],
        resolve: resolve as (v: unknown) => void,
        reject,
      });
      this.schedule();
    });
  }

  /**
   * better-sqlite3 is synchronous: a transaction started right away would run, commit and fsync
   * before Node reads the next request off the sockets, so every batch would hold one write.
   * Starting it on `setImmediate` lets the requests that have already arrived join it first.
   */
  private schedule(): void {
    if (this.scheduled || this.running >= this.options.concurrency || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.running++;
    try {
      const batch = this.queue.splice(0, this.maxBatch);
      this.schedule();
      const outcomes = await this.commit(batch);
      for (const [i, pending] of batch.entries()) {
        const outcome = outcomes[i] as Outcome;
        if (outcome.ok) pending.resolve(outcome.value);
        else pending.reject(outcome.error);
      }
    } finally {
      this.running--;
      this.schedule();
    }
  }

  private async commit(batch: Pending[]): Promise<Outcome[]> {
    let writeFailed = false;
    try {
      const values = await this.kysely.transaction().execute(async (trx) => {
        try {
          return await runWrites(trx, batch);
        } catch (error) {
          writeFailed = true;
          throw error;
        }
      });
      return values.map((value) => ({ ok: true, value }));
    } catch (error) {
      // A failed COMMIT has an unknown outcome: running the writes again could apply them twice.
      // A database that is not there fails them all alike, and would only make each wait again.
      if (!writeFailed || batch.length === 1 || isUnavailable(error))
        return batch.map(() => ({ ok: false, error }));
    }
    // A write failed before COMMIT was sent, so the batch rolled back and nothing of it happened.
    return Promise.all(
      batch.map((pending) =>
        this.kysely
          .transaction()
          .execute(async (trx) => (await runWrites(trx, [pending]))[0])
          .then(
            (value): Outcome => ({ ok: true, value }),
            (error): Outcome => ({ ok: false, error }),
          ),
      ),
    );
  }
}
