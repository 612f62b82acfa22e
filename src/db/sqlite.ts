import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, type SqliteDatabase, SqliteDialect, type SqliteStatement, sql } from 'kysely';
import type { Db } from './db.js';
import { GroupCommit } from './group-commit.js';
import type { Database } from './schema.js';

const STATEMENT_CACHE_SIZE = 500;

/**
 * Kysely's SQLite driver prepares every query afresh; preparing costs more than running a
 * primary-key lookup. The same SQL text gets the same prepared statement: queries are built
 * with parameters, so the number of distinct texts is small and bounded by the code.
 */
function withStatementCache(database: SQLite.Database): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => database.close(),
    prepare(sql: string) {
      let statement = cache.get(sql);
      if (!statement) {
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
        statement = database.prepare(sql);
        cache.set(sql, statement);
      }
      return statement as unknown as SqliteStatement;
    },
  };
}

/**
 * How long a check for other processes' commits stays good. Reading SQLite's data_version takes
 * a lock on the WAL index, which costs more than the rest of a cached key lookup; under load many
 * requests share one reading. A key revoked by another process is refused within this time.
 */
const OUTSIDE_CHANGES_TTL_MS = 1;

export function openSqlite(path: string): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const database = new SQLite(path);
  // WAL lets readers run beside the writer; synchronous=FULL makes an acknowledged commit
  // survive a crash of the machine, not only of the process.
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  const kysely = new Kysely<Database>({
    dialect: new SqliteDialect({ database: withStatementCache(database) }),
  });
  const readerDatabase = path === ':memory:' ? database : new SQLite(path, { readonly: true });
  readerDatabase.pragma('busy_timeout = 5000');
  const reader =
    readerDatabase === database
      ? kysely
      : new Kysely<Database>({
          dialect: new SqliteDialect({ database: withStatementCache(readerDatabase) }),
        });
  const groupCommit = new GroupCommit(kysely, { concurrency: 1 });
  // Read on the writing connection: its own commits leave it alone, other processes' change it.
  const dataVersion = database.prepare('pragma data_version').pluck();
  let version = { value: dataVersion.get() as number, at: performance.now() };
  return {
    kysely,
    reader,
    write: (fn, options) => groupCommit.run(fn, options),
    dialect: 'sqlite',
    locksRows: false,
    outsideChanges() {
      const now = performance.now();
      if (now - version.at >= OUTSIDE_CHANGES_TTL_MS)
        version = { value: dataVersion.get() as number, at: now };
      return version.value;
    },
    async ping() {
      await sql`select 1`.execute(kysely);
    },
    async close() {
      if (reader !== kysely) await reader.destroy();
      await kysely.destroy();
    },
  };
}
