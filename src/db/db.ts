import type { Kysely } from 'kysely';
import type { DatabaseConfig } from '../config.js';
import type { WriteFn, WriteOptions } from './group-commit.js';
import type { Database } from './schema.js';

/**
 * An open database, either dialect. Which door to use:
 * - `reader` for a request's reads outside a write, which then never wait for a write;
 * - `write(fn)` for a request's writes: writes arriving together share one commit;
 * - `kysely` for work outside requests (the worker, the command line, background sweeps): its
 *   reads, single statements and own transactions (`kysely.transaction()`). Those are not
 *   batched with requests' writes, so neither can roll the other back or make it run twice,
 *   and a worker's row locks are held for its own transaction only. The one exception is a
 *   lane of many small jobs (webhook deliveries), whose claims and results are short
 *   statements that may run twice: they go through `write(fn)` and share the requests' commits
 *   (jobs.store.ts `Lane.sharesCommits`).
 */
export interface Db {
  /** The connection that writes (and may read). */
  readonly kysely: Kysely<Database>;
  /**
   * For reads outside a write: on SQLite a second connection, so reads go on while a write
   * transaction is open (WAL); on PostgreSQL the same pool.
   */
  readonly reader: Kysely<Database>;
  /**
   * Runs `fn` in a write transaction; writes arriving together share one commit (group-commit.ts).
   * Resolves once that transaction has committed. `fn` may run twice (its batch rolled back
   * because another write of it failed, then run alone), so it must do nothing but its
   * statements on `trx` and hand values to coalescers through its second argument.
   */
  write<T>(fn: WriteFn<T>, options?: WriteOptions): Promise<T>;
  readonly dialect: DatabaseConfig['dialect'];
  /**
   * Whether a read that a write decides on must lock its rows (`for update`): true on
   * PostgreSQL, where transactions run side by side; false on SQLite, whose write transactions
   * run one at a time.
   */
  readonly locksRows: boolean;
  /** Resolves when the database answers a trivial query; rejects otherwise. */
  ping(): Promise<void>;
  /**
   * SQLite: a number that changes whenever another connection (another process) commits, read
   * without touching any table. Lets a cache in this process notice outside writes at once.
   */
  readonly outsideChanges?: () => number;
  /**
   * PostgreSQL: runs `onMessage` for each NOTIFY on `channel`, over a dedicated connection that
   * is re-established when lost. `onLive(false)` says notifications may have been missed.
   */
  readonly listen?: (
    channel: string,
    onMessage: (payload: string) => void,
    onLive: (live: boolean) => void,
  ) => () => void;
  close(): Promise<void>;
}

/** The same database, told to others: `select pg_notify(channel, payload)` inside a transaction. */
export const NOTIFY_CHANNEL_KEYS = 'lunipay_keys';

export interface OpenOptions {
  /** PostgreSQL only: put every table in this schema (created if missing). Tests use one each. */
  pgSchema?: string;
  /** PostgreSQL only: connections in the pool. */
  poolSize?: number;
  /**
   * PostgreSQL only: a query that gets no answer in this many milliseconds fails, and its
   * connection is closed. Unset: queries wait as long as the network does.
   */
  queryTimeoutMs?: number;
}
