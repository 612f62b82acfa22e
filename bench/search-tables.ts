import Database from 'better-sqlite3';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/index.js';
import { ftsTable, TRIGRAM_COLUMNS } from '../src/db/migrations.search.js';
import { SEARCH_GIN_INDEXES, WINDOWED_COLUMNS, windowsFts } from '../src/db/migrations.search-windows.js';
import { upkeepSearchIndex } from '../src/search/search.upkeep.js';
import type { Dialect } from './options.js';

// What the search part of the bench does to a database between its measurements: tidy its
// search index, drop the trigram index, or swallow the search rows altogether.

/**
 * Runs the search index's upkeep (search/search.upkeep.ts) until it has nothing left to do, as
 * the server's own would over a quiet spell, from this process: the seconds it took.
 */
export async function tidy(databaseUrl: string): Promise<number> {
  const db = await openDatabase(loadConfig({ LUNIPAY_DATABASE_URL: databaseUrl }).database);
  const start = performance.now();
  try {
    while ((await upkeepSearchIndex(db, 10_000)) > 0) {}
  } finally {
    await db.close();
  }
  return (performance.now() - start) / 1000;
}

async function onDatabase(
  dialect: Dialect,
  databaseUrl: string,
  pgUrl: string,
  statements: string[],
): Promise<void> {
  if (dialect === 'sqlite') {
    const db = new Database(databaseUrl.replace(/^sqlite:/, ''));
    try {
      db.transaction(() => {
        for (const s of statements) db.exec(s);
      })();
    } finally {
      db.close();
    }
    return;
  }
  const schema = decodeURIComponent(databaseUrl).match(/search_path=([A-Za-z0-9_]+)/)?.[1];
  if (!schema) throw new Error(`no search_path in ${databaseUrl}`);
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  try {
    await client.query('begin');
    await client.query(`set local search_path = ${schema}`);
    for (const s of statements) await client.query(s);
    await client.query('commit');
  } finally {
    await client.end();
  }
}

/** The trigram index and the windows' gone; `customer_search` still written. */
export function dropTrigramIndex(dialect: Dialect, databaseUrl: string, pgUrl: string): Promise<void> {
  return onDatabase(
    dialect,
    databaseUrl,
    pgUrl,
    dialect === 'sqlite'
      ? [
          'drop trigger customer_search_ai',
          'drop trigger customer_search_ad',
          ...TRIGRAM_COLUMNS.flatMap((c) => [`drop trigger ${ftsTable(c)}_au`, `drop table ${ftsTable(c)}`]),
          ...WINDOWED_COLUMNS.flatMap((c) => [
            ...['ai', 'ad', 'au'].map((t) => `drop trigger ${windowsFts(c)}_${t}`),
            `drop table ${windowsFts(c)}`,
          ]),
        ]
      : SEARCH_GIN_INDEXES.map((name) => `drop index ${name}`),
  );
}

/**
 * No search rows written at all, the write path as it was before search; the store's statements
 * still run, and cost only their parse and a no-op. SQLite: `customer_search` becomes an empty
 * view whose writes INSTEAD OF triggers swallow. PostgreSQL: the table emptied, with a BEFORE
 * trigger that drops every row written to it (rules would do, but PostgreSQL refuses a DO
 * INSTEAD rule on a table that a WITH of the batch's statement writes to).
 */
export function swallowSearchRows(dialect: Dialect, databaseUrl: string, pgUrl: string): Promise<void> {
  if (dialect === 'postgres')
    return onDatabase(dialect, databaseUrl, pgUrl, [
      'truncate customer_search',
      'create function customer_search_swallow() returns trigger language plpgsql as $$ begin return null; end $$',
      'create trigger customer_search_swallow before insert or update or delete on customer_search for each row execute function customer_search_swallow()',
    ]);
  const view = [
    'alter table customer_search rename to customer_search_kept',
    'create view customer_search as select * from customer_search_kept where 1 = 0',
  ];
  const swallow = (['insert', 'update', 'delete'] as const).map(
    (op) => `create trigger customer_search_no_${op} instead of ${op} on customer_search begin select 1; end`,
  );
  return onDatabase(dialect, databaseUrl, pgUrl, [...view, ...swallow]);
}
