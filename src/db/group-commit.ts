import { type Kysely, sql, type Transaction } from 'kysely';
import type { Database } from './schema.js';

export type WriteFn<T> = (trx: Transaction<Database>) => Promise<T>;

interface Pending {
  fn: WriteFn<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for SQLite, whose cost per write is the commit's fsync. Writes that arrive
 * while a commit is under way wait, then run together in the next transaction, each inside its
 * own savepoint: one that fails rolls back alone and fails only its own caller. Every caller is
 * answered only after the transaction holding its write has committed, so an acknowledged write
 * is durable. A lone write waits only for the current turn of the event loop.
 */
export class GroupCommit {
  private queue: Pending[] = [];
  private scheduled = false;
  private running = false;

  constructor(
    private readonly kysely: Kysely<Database>,
    private readonly maxBatch = 256,
  ) {}

  run<T>(fn: WriteFn<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn: fn as WriteFn<unknown>, resolve: resolve as (v: unknown) => void, reject });
      this.schedule();
    });
  }

  /**
   * better-sqlite3 is synchronous: a transaction started right away would run, commit and fsync
   * before Node reads the next request off the sockets, so every batch would hold one write.
   * Starting it on `setImmediate` lets the requests that have already arrived join it first.
   */
  private schedule(): void {
    if (this.scheduled || this.running || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.running = true;
    try {
      await this.commit(this.queue.splice(0, this.maxBatch));
    } finally {
      this.running = false;
      this.schedule();
    }
  }

  private async commit(batch: Pending[]): Promise<void> {
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    try {
      await this.kysely.transaction().execute(async (trx) => {
        for (const pending of batch) {
          await sql`savepoint one_write`.execute(trx);
          try {
            const value = await pending.fn(trx);
            await sql`release savepoint one_write`.execute(trx);
            outcomes.push({ ok: true, value });
          } catch (error) {
            await sql`rollback to savepoint one_write`.execute(trx);
            await sql`release savepoint one_write`.execute(trx);
            outcomes.push({ ok: false, error });
          }
        }
      });
    } catch (error) {
      // The commit itself failed: nothing in the batch happened.
      for (const pending of batch) pending.reject(error);
      return;
    }
    for (const [i, pending] of batch.entries()) {
      const outcome = outcomes[i];
      if (outcome?.ok) pending.resolve(outcome.value);
      else pending.reject(outcome?.error);
    }
  }
}
