import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { Db, OpenOptions } from './db.js';
import { GroupCommit } from './group-commit.js';
import { listenPostgres } from './pg-listen.js';
import type { Database } from './schema.js';

// pg returns bigint (int8) columns as strings to avoid precision loss; ours are unix seconds and
// counts, far below 2^53, so numbers are right.
const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20 && format !== 'binary') return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
};

/**
 * Makes every query of a pooled client fail after `ms` without an answer (a database behind a
 * network partition answers nothing and refuses nothing), and ends the client (pg destroys the
 * socket of a client with a query in flight); the pool discards it on release. pg's own
 * query_timeout would leave the statement queued on a connection that goes back to the pool.
 *
 * Closing our end does not take back bytes already sent: a partition holds them, and delivers
 * them when it heals. Statements go one at a time, so what can be in flight is one statement of
 * a transaction, and PostgreSQL rolls back when it reads the end of the connection after it, with
 * one exception: COMMIT, which would commit long after its caller was told the write failed.
 * `idleInTransactionMs` (below) is what stops that.
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

/** Longer texts (seeding's big inserts) stay unnamed; group commit's inserts of up to 64 rows fit. */
const NAMED_STATEMENT_MAX_TEXT = 16_000;
/** Distinct texts named per process; the code builds far fewer, so this only bounds a surprise. */
const NAMED_STATEMENT_LIMIT = 1000;

/**
 * Kysely sends every query unnamed, so PostgreSQL parses and plans it afresh each time: for a
 * primary-key lookup that is most of the database's work. The same SQL text gets the same
 * statement name in every connection; pg prepares it once per connection and then only binds.
 * Queries are built with parameters, so the texts are few and bounded by the code.
 * A migration run by another process that changes a table's columns while this one runs makes
 * PostgreSQL refuse its `select *` statements ("cached plan must not change result type") until
 * their connections are replaced: hence MIGRATION_RESTART_NOTICE (index.ts).
 */
function nameStatements(client: pg.PoolClient, names: Map<string, string>): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as { query: unknown }).query = (...args: unknown[]) => {
    const [text, values] = args;
    if (typeof text !== 'string' || !Array.isArray(values) || args.length !== 2) return query(...args);
    if (text.length > NAMED_STATEMENT_MAX_TEXT) return query(...args);
    let name = names.get(text);
    if (name === undefined) {
      if (names.size >= NAMED_STATEMENT_LIMIT) return query(...args);
      name = `lunipay_${names.size}`;
      names.set(text, name);
    }
    return query({ name, text, values });
  };
}

/**
 * How long PostgreSQL lets a connection sit in a transaction waiting for its next statement before
 * it ends the session and rolls back, given the query timeout: half of it.
 *
 * A COMMIT caught in a partition finds the transaction gone when it arrives: PostgreSQL went idle
 * when it answered the statement before COMMIT, which is before the COMMIT was sent, so it has
 * rolled back by the time the query timeout answers the write "unavailable" (with half the
 * timeout to spare for a slow server). A write so answered therefore never commits after the
 * answer: either its COMMIT arrived in time, and committed or is committing (holding its rows'
 * locks, so a later write to the same rows waits for it and builds on it), or it never will. Nor
 * does a transaction cut off keep its rows locked for as long as the partition lasts. Between the
 * statements of a healthy transaction the wait is a round trip and our own processing, far less.
 */
export function idleInTransactionMs(queryTimeoutMs: number): number {
  return Math.max(1, Math.floor(queryTimeoutMs / 2));
}

/** Write batches committing at once on PostgreSQL. */
const PG_WRITE_BATCHES = 3;

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export async function openPostgres(url: string, options: OpenOptions = {}): Promise<Db> {
  const schema = options.pgSchema;
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) throw new Error(`bad schema name ${schema}`);
  if (schema) {
    // Made through a short-lived client: the pool's connections already point search_path at it.
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(`create schema if not exists ${schema}`);
    } finally {
      await client.end();
    }
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    // A database that does not answer should become a quick 503, not a hung request.
    connectionTimeoutMillis: 5000,
    types: pgTypes,
    ...(options.queryTimeoutMs
      ? { idle_in_transaction_session_timeout: idleInTransactionMs(options.queryTimeoutMs) }
      : {}),
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  // An idle client losing its connection (server restart) must not crash the process; the
  // next query gets a fresh connection or a clear error.
  pool.on('error', () => {});
  // Nor may a checked-out one: the pool listens for errors only while a client is idle, and a
  // connection lost between two statements of a transaction is then an unhandled 'error' event.
  // The client's next query fails instead (a 503), and the pool discards it on release.
  const statementNames = new Map<string, string>();
  pool.on('connect', (client) => {
    client.on('error', () => {});
    nameStatements(client, statementNames);
    if (options.queryTimeoutMs) boundQueries(client, options.queryTimeoutMs);
  });
  const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  // A few batches at once: PostgreSQL commits them in parallel, and reads keep connections.
  const groupCommit = new GroupCommit(kysely, { concurrency: PG_WRITE_BATCHES });
  return {
    kysely,
    reader: kysely,
    write: (fn, options) => groupCommit.run(fn, options),
    dialect: 'postgres',
    locksRows: true,
    listen: (channel, onMessage, onLive) => listenPostgres(url, schema, channel, onMessage, onLive),
    async ping() {
      await sql`select 1`.execute(kysely);
    },
    close: () => kysely.destroy(),
  };
}
