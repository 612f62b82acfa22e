import { type Kysely, sql } from 'kysely';
import type { DatabaseConfig } from '../config.js';
import { ftsTable, TRIGRAM_COLUMNS, trigramIndex } from './migrations.search.js';
import { windowsText } from './search-row.js';

// The digit windows' indexes: a column's runs of six digits (search-row.ts digitWindows), kept
// as keys beside its trigrams. The phone's came in migration 0015, the email's in 0017.

/** The columns of `customer_search` whose digits have windows of their own. */
export const WINDOWED_COLUMNS = ['phone', 'email'] as const;
export type WindowedColumn = (typeof WINDOWED_COLUMNS)[number];

export const isWindowed = (column: string): column is WindowedColumn =>
  (WINDOWED_COLUMNS as readonly string[]).includes(column);

/** The column that holds a column's windows, space-separated. */
export const windowsColumn = (column: WindowedColumn) => `${column}_windows` as const;
/** SQLite: the FTS5 table whose tokens are a column's windows. */
export const windowsFts = (column: WindowedColumn) => `customer_search_${column}_windows_fts`;
/** PostgreSQL: the GIN index of a column's windows as an array. */
export const windowsIndex = (column: WindowedColumn) => `customer_search_${column}_windows_gin`;
/**
 * PostgreSQL: the windows as the index holds them, of `column` (the windows' column, qualified in
 * a query); a query names the same expression, so that the planner matches it to the index.
 */
export const windowsArray = (column: string): string => `string_to_array(${column}, ' ')`;

/** SQLite: every FTS5 table of the search, the trigram tables and the windows'. */
export const SEARCH_FTS_TABLES: readonly string[] = [
  ...TRIGRAM_COLUMNS.map(ftsTable),
  ...WINDOWED_COLUMNS.map(windowsFts),
];
/** PostgreSQL: every GIN index of the search. */
export const SEARCH_GIN_INDEXES: readonly string[] = [
  ...TRIGRAM_COLUMNS.map(trigramIndex),
  ...WINDOWED_COLUMNS.map(windowsIndex),
];

const BACKFILL_CHUNK = 1000;

/** Each row's windows of `column`, for the rows there already, a thousand rows a statement. */
async function backfill(
  db: Kysely<unknown>,
  dialect: DatabaseConfig['dialect'],
  column: WindowedColumn,
): Promise<void> {
  const key = dialect === 'sqlite' ? 'seq' : 'customer_id';
  const target = sql.ref(windowsColumn(column));
  let after: string | number = dialect === 'sqlite' ? -1 : '';
  for (;;) {
    const { rows } = await sql<{
      key: string | number;
      text: string;
    }>`select ${sql.ref(key)} as key, ${sql.ref(column)} as text from customer_search where ${sql.ref(key)} > ${after} and ${sql.ref(column)} is not null order by ${sql.ref(key)} limit ${BACKFILL_CHUNK}`.execute(
      db,
    );
    if (rows.length === 0) return;
    const windows = rows.map((r) => windowsText(r.text));
    const keys = rows.map((r) => r.key);
    // Only the rows with windows are written: most emails have fewer than six digits.
    const written = keys.map((k, i) => [k, windows[i]] as const).filter(([, w]) => w !== null);
    if (written.length > 0 && dialect === 'sqlite') {
      await sql`update customer_search set ${target} = v.w from (select p.value ->> 0 as k, p.value ->> 1 as w from json_each(${JSON.stringify(written)}) p) as v where customer_search.seq = v.k`.execute(
        db,
      );
    } else if (written.length > 0) {
      await sql`update customer_search s set ${target} = v.w from unnest(${written.map(([k]) => k)}::text[], ${written.map(([, w]) => w)}::text[]) as v(id, w) where s.customer_id = v.id`.execute(
        db,
      );
    }
    after = keys[keys.length - 1] as string | number;
  }
}

/**
 * A term of digits is looked up badly by its trigrams: each digit trigram is held by about one
 * value in a hundred, so the trigram index gave a seven-digit phone term some ten thousand
 * candidates per trigram at a million customers, and an email's `.484375@` a few thousand, and
 * the search took twice as long as at a tenth of them. The windows of six digits narrow such a
 * term to a handful at any size (search-row.ts). They are kept beside the column's trigrams,
 * which still answer a term with fewer than six digits.
 *
 * SQLite: an FTS5 table over the windows' column with the `ascii` tokenizer, each window a
 * token, without sizes (`columnsize=0`: a row of `…_docsize` per customer, for ranking, which
 * search does not do). It keeps positions, though a lookup needs only which rows hold a window:
 * FTS5's secure-delete, which a delete uses, corrupts a table without them (`detail=none`,
 * SQLite 3.53). Its triggers are its own, beside the trigram tables', and a delete erases as
 * theirs do. PostgreSQL: a GIN index of the windows as an array. Both are filled in the
 * migration's transaction, once: a pass over the search rows a thousand at a time, then the
 * index built whole (FTS5's `rebuild`, or CREATE INDEX), a time that grows with the table.
 */
export async function indexWindows(
  db: Kysely<unknown>,
  dialect: DatabaseConfig['dialect'],
  column: WindowedColumn,
): Promise<void> {
  const windows = windowsColumn(column);
  await db.schema.alterTable('customer_search').addColumn(windows, 'text').execute();
  await backfill(db, dialect, column);
  if (dialect === 'postgres') {
    await sql
      .raw(`create index ${windowsIndex(column)} on customer_search using gin ((${windowsArray(windows)}))`)
      .execute(db);
    return;
  }
  const table = windowsFts(column);
  await sql
    .raw(
      `create virtual table ${table} using fts5(${windows}, content='customer_search', content_rowid='seq', tokenize='ascii', columnsize=0)`,
    )
    .execute(db);
  // As for the trigram tables (migrations.search.ts): merges a quarter as often, never in crisis.
  await sql.raw(`insert into ${table}(${table}, rank) values ('automerge', 16)`).execute(db);
  await sql.raw(`insert into ${table}(${table}, rank) values ('crisismerge', 64)`).execute(db);
  await sql.raw(`insert into ${table}(${table}) values ('rebuild')`).execute(db);
  const add = `insert into ${table}(rowid, ${windows}) values (new.seq, new.${windows});`;
  const remove = `insert into ${table}(${table}, rowid, ${windows}) values ('delete', old.seq, old.${windows});`;
  const secureDelete = (on: 0 | 1) => `insert into ${table}(${table}, rank) values ('secure-delete', ${on});`;
  await sql.raw(`create trigger ${table}_ai after insert on customer_search begin ${add} end`).execute(db);
  await sql
    .raw(
      `create trigger ${table}_ad after delete on customer_search begin ${secureDelete(1)} ${remove} ${secureDelete(0)} end`,
    )
    .execute(db);
  await sql
    .raw(
      `create trigger ${table}_au after update of ${windows} on customer_search when old.${windows} is not new.${windows} begin ${remove} ${add} end`,
    )
    .execute(db);
}
