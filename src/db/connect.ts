import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import type { DatabaseConfig } from '../config.js';
import type { Database } from './schema.js';

export interface Db {
  readonly kysely: Kysely<Database>;
  readonly dialect: DatabaseConfig['dialect'];
  /** Resolves when the database answers a trivial query; rejects otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

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

// pg returns bigint (int8) columns as strings to avoid precision loss; ours are unix seconds and
// counts, far below 2^53, so numbers are right.
const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20 && format !== 'binary') return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
};

function openSqlite(path: string): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const database = new SQLite(path);
  // WAL lets readers run beside the writer; synchronous=FULL makes an acknowledged commit
  // survive a crash of the machine, not only of the process.
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  const kysely = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  return {
    kysely,
    dialect: 'sqlite',
    async ping() {
      await sql`select 1`.execute(kysely);
    },
    close: () => kysely.destroy(),
  };
}

/**
 * Makes every query of a pooled client fail after `ms` without an answer (a database behind a
 * network partition answers nothing and refuses nothing), and ends the client: PostgreSQL then
 * rolls back whatever transaction it was in, and the pool discards it on release. pg's own
 * query_timeout would leave the statement queued on a connection that goes back to the pool.
 */
function boundQueries(client: pg.PoolClient, ms: number): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as { query: unknown }).query = (...args: unknown[]) => {
    const result = query(...args);
    if (!(result instanceof Promise)) return result;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        client.end().catch(() => {});
        reject(Object.assign(new Error('Query read timeout'), { code: 'ETIMEDOUT' }));
      }, ms);
    });
    return Promise.race([result, timeout]).finally(() => clearTimeout(timer));
  };
}

function openPostgres(url: string, options: OpenOptions): Db {
  const schema = options.pgSchema;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema))
    throw new Error(`bad schema name ${schema}`);
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    // A database that does not answer should become a quick 503, not a hung request.
    connectionTimeoutMillis: 5000,
    types: pgTypes,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  // An idle client losing its connection (server restart) must not crash the process; the
  // next query gets a fresh connection or a clear error.
  pool.on('error', () => {});
  // Nor may a checked-out one: the pool listens for errors only while a client is idle, and a
  // connection lost between two statements of a transaction is then an unhandled 'error' event.
  // The client's next query fails instead (a 503), and the pool discards it on release.
  pool.on('connect', (client) => {
    client.on('error', () => {});
    if (options.queryTimeoutMs) boundQueries(client, options.queryTimeoutMs);
  });
  const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    kysely,
    dialect: 'postgres',
    async ping() {
      await sql`select 1`.execute(kysely);
    },
    close: () => kysely.destroy(),
  };
}

export async function openDatabase(config: DatabaseConfig, options: OpenOptions = {}): Promise<Db> {
  if (config.dialect === 'sqlite') return openSqlite(config.path);
  if (options.pgSchema) {
    // Made through a short-lived client: the pool's connections already point search_path at it.
    const client = new pg.Client({ connectionString: config.url });
    await client.connect();
    try {
      await client.query(`create schema if not exists ${options.pgSchema}`);
    } finally {
      await client.end();
    }
  }
  return openPostgres(config.url, options);
}
