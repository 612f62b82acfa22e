import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** Ids per query; a bigger batch is split. */
const MAX_BATCH = 64;

interface Waiting<R> {
  id: string;
  resolve: (row: R | undefined) => void;
  reject: (error: unknown) => void;
}

/**
 * Lookups by primary key that arrive in the same turn of the event loop go to the database as
 * one query (`fetch` with every id), the way group commit shares one commit among writes. On
 * SQLite that is one read transaction, with its file-lock system calls, instead of one per
 * request; on PostgreSQL one round trip. The query starts after every lookup in it was asked
 * for, so each sees every write acknowledged before its request arrived.
 *
 * Id lists are padded to a power of two (repeating the first id), so `fetch` builds a handful
 * of distinct SQL texts, each prepared once.
 */
export function batchedById<R extends { id: string }>(
  fetch: (db: Kysely<Database>, ids: string[]) => Promise<R[]>,
): (db: Kysely<Database>, id: string) => Promise<R | undefined> {
  const queues = new WeakMap<Kysely<Database>, Waiting<R>[]>();

  async function flush(db: Kysely<Database>, batch: Waiting<R>[]): Promise<void> {
    const ids = [...new Set(batch.map((w) => w.id))];
    let size = 1;
    while (size < ids.length) size *= 2;
    const padded = ids.concat(Array<string>(size - ids.length).fill(ids[0] as string));
    try {
      const rows = new Map((await fetch(db, padded)).map((row) => [row.id, row]));
      for (const waiting of batch) waiting.resolve(rows.get(waiting.id));
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
    }
  }

  return (db, id) =>
    new Promise<R | undefined>((resolve, reject) => {
      let queue = queues.get(db);
      if (!queue) {
        const fresh: Waiting<R>[] = [];
        queue = fresh;
        queues.set(db, fresh);
        setImmediate(() => {
          queues.delete(db);
          for (let i = 0; i < fresh.length; i += MAX_BATCH) void flush(db, fresh.slice(i, i + MAX_BATCH));
        });
      }
      queue.push({ id, resolve, reject });
    });
}
