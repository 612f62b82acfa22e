import type { Insertable, Kysely, Transaction } from 'kysely';
import { isUnavailable } from './errors.js';
import { openFlushes, runFlushes } from './flush-at-commit.js';
import type { Database } from './schema.js';

export type WriteFn<T> = (trx: Transaction<Database>) => Promise<T>;

export interface WriteOptions {
  /**
   * A row this write inserts before `fn` runs. The rows of writes committed together go in as
   * one multi-row statement per table: on PostgreSQL one round trip instead of one per write.
   */
  insert?: { table: 'customers'; values: Insertable<Database['customers']> };
}

interface Pending {
  fn: WriteFn<unknown>;
  insert: WriteOptions['insert'];
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** Rows per insert statement: powers of two up to this, so the statement texts are few. */
const MAX_ROWS_PER_INSERT = 64;

/** Inserts rows of one table in statements of 64, 32, …, 1 rows. */
async function insertRows(trx: Transaction<Database>, inserts: NonNullable<WriteOptions['insert']>[]) {
  for (let i = 0; i < inserts.length; ) {
    let size = MAX_ROWS_PER_INSERT;
    while (size > inserts.length - i) size /= 2;
    await trx
      .insertInto('customers')
      .values(inserts.slice(i, i + size).map((insert) => insert.values))
      .execute();
    i += size;
  }
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
 * its writes runs again in a transaction of its own. A write function may therefore run twice:
 * it must do nothing but its statements on `trx`.
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
        insert: options.insert,
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
    const values: unknown[] = [];
    let writeFailed = false;
    try {
      await this.kysely.transaction().execute(async (trx) => {
        openFlushes(trx);
        try {
          const inserts = batch.flatMap((pending) => (pending.insert ? [pending.insert] : []));
          if (inserts.length > 0) await insertRows(trx, inserts);
          for (const pending of batch) values.push(await pending.fn(trx));
          await runFlushes(trx);
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
          .execute(async (trx) => {
            openFlushes(trx);
            if (pending.insert) await insertRows(trx, [pending.insert]);
            const value = await pending.fn(trx);
            await runFlushes(trx);
            return value;
          })
          .then(
            (value): Outcome => ({ ok: true, value }),
            (error): Outcome => ({ ok: false, error }),
          ),
      ),
    );
  }
}
