import { type Kysely, sql } from 'kysely';
import type { DatabaseConfig } from '../config.js';
import { ftsTable, TRIGRAM_COLUMNS, trigramIndex } from './migrations.search.js';
import { phoneWindows } from './search-row.js';

// The phone's own index (migration 0015): its runs of six digits, `phone_windows`, as keys.

/** SQLite: the FTS5 table whose tokens are the phone's windows. */
export const PHONE_WINDOWS_FTS = 'customer_search_phone_windows_fts';
/** PostgreSQL: the GIN index of the windows as an array. */
export const PHONE_WINDOWS_INDEX = 'customer_search_phone_windows_gin';
/**
 * PostgreSQL: the windows as the index holds them, of `column` (the column's name, qualified in a
 * query); a query names the same expression, so that the planner matches it to the index.
 */
export const phoneWindowsArray = (column: string): string => `string_to_array(${column}, ' ')`;

/** SQLite: every FTS5 table of the search, the trigram tables and the phone windows'. */
export const SEARCH_FTS_TABLES: readonly string[] = [...TRIGRAM_COLUMNS.map(ftsTable), PHONE_WINDOWS_FTS];
/** PostgreSQL: every GIN index of the search. */
export const SEARCH_GIN_INDEXES: readonly string[] = [
  ...TRIGRAM_COLUMNS.map(trigramIndex),
  PHONE_WINDOWS_INDEX,
];

const BACKFILL_CHUNK = 1000;

/** Each phone's windows, for the rows there already, a thousand rows a statement. */
async function backfill(db: Kysely<unknown>, dialect: DatabaseConfig['dialect']): Promise<void> {
  const key = dialect === 'sqlite' ? 'seq' : 'customer_id';
  let after: string | number = dialect === 'sqlite' ? -1 : '';
  for (;;) {
    const { rows } = await sql<{
      key: string | number;
      phone: string;
    }>`select ${sql.ref(key)} as key, phone from customer_search where ${sql.ref(key)} > ${after} and phone is not null order by ${sql.ref(key)} limit ${BACKFILL_CHUNK}`.execute(
      db,
    );
    if (rows.length === 0) return;
    const windows = rows.map((r) => phoneWindows(r.phone));
    const keys = rows.map((r) => r.key);
    if (dialect === 'sqlite') {
      const pairs = JSON.stringify(keys.map((k, i) => [k, windows[i]]));
      await sql`update customer_search set phone_windows = v.w from (select p.value ->> 0 as k, p.value ->> 1 as w from json_each(${pairs}) p) as v where customer_search.seq = v.k`.execute(
        db,
      );
    } else {
      await sql`update customer_search s set phone_windows = v.w from unnest(${keys}::text[], ${windows}::text[]) as v(id, w) where s.customer_id = v.id`.execute(
        db,
      );
    }
    after = keys[keys.length - 1] as string | number;
  }
}

/**
 * A phone term is a string of digits, and each digit trigram is held by about one number in a
 * hundred: the trigram index gave a seven-digit term some ten thousand candidates per trigram at
 * a million customers, and the search took twice as long as at a tenth of them. The windows of
 * six digits narrow it to a handful at any size (search-row.ts). They are kept beside the
 * phone's trigrams, which still answer a term of fewer than six digits.
 *
 * SQLite: an FTS5 table over the column with the `ascii` tokenizer, each window a token, without
 * sizes (`columnsize=0`: a row of `…_docsize` per customer, for ranking, which search does not
 * do). It keeps positions, though a lookup needs only which rows hold a window: FTS5's
 * secure-delete, which a delete uses, corrupts a table without them (`detail=none`, SQLite
 * 3.53). Its triggers are its own, beside the trigram tables', and a delete erases as theirs
 * do. PostgreSQL: a GIN index of the windows as an array. Both are filled in the migration's transaction, once: a pass over
 * the search rows a thousand at a time, then the index built whole (FTS5's `rebuild`, or
 * CREATE INDEX), a time that grows with the table.
 */
export async function indexPhoneWindows(
  db: Kysely<unknown>,
  dialect: DatabaseConfig['dialect'],
): Promise<void> {
  await db.schema.alterTable('customer_search').addColumn('phone_windows', 'text').execute();
  await backfill(db, dialect);
  if (dialect === 'postgres') {
    await sql
      .raw(
        `create index ${PHONE_WINDOWS_INDEX} on customer_search using gin ((${phoneWindowsArray('phone_windows')}))`,
      )
      .execute(db);
    return;
  }
  const table = PHONE_WINDOWS_FTS;
  await sql
    .raw(
      `create virtual table ${table} using fts5(phone_windows, content='customer_search', content_rowid='seq', tokenize='ascii', columnsize=0)`,
    )
    .execute(db);
  // As for the trigram tables (migrations.search.ts): merges a quarter as often, never in crisis.
  await sql.raw(`insert into ${table}(${table}, rank) values ('automerge', 16)`).execute(db);
  await sql.raw(`insert into ${table}(${table}, rank) values ('crisismerge', 64)`).execute(db);
  await sql.raw(`insert into ${table}(${table}) values ('rebuild')`).execute(db);
  const add = `insert into ${table}(rowid, phone_windows) values (new.seq, new.phone_windows);`;
  const remove = `insert into ${table}(${table}, rowid, phone_windows) values ('delete', old.seq, old.phone_windows);`;
  const secureDelete = (on: 0 | 1) => `insert into ${table}(${table}, rank) values ('secure-delete', ${on});`;
  await sql.raw(`create trigger ${table}_ai after insert on customer_search begin ${add} end`).execute(db);
  await sql
    .raw(
      `create trigger ${table}_ad after delete on customer_search begin ${secureDelete(1)} ${remove} ${secureDelete(0)} end`,
    )
    .execute(db);
  await sql
    .raw(
      `create trigger ${table}_au after update of phone_windows on customer_search when old.phone_windows is not new.phone_windows begin ${remove} ${add} end`,
    )
    .execute(db);
}
