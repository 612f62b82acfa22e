import {
  type Kysely,
  type RawBuilder,
  type SelectQueryBuilder,
  type SqlBool,
  sql,
  type Transaction,
} from 'kysely';
import type { DatabaseConfig } from '../config.js';
import { ftsTable, type TRIGRAM_COLUMNS } from '../db/migrations.search.js';
import { isWindowed, SEARCH_GIN_INDEXES, windowsFts } from '../db/migrations.search-windows.js';
import type { CustomersTable, Database, Mode } from '../db/schema.js';
import {
  ftsMatch,
  type IndexedTerm,
  type Narrowing,
  type ShareOf,
  sharesIn,
  termWindows,
  trigramCondition,
  windowsMatch,
} from './search.sql.js';

type Q = Kysely<Database> | Transaction<Database>;
type Dialect = DatabaseConfig['dialect'];
export type CustomerRow = CustomersTable & { version: number };

export interface Owner {
  accountId: string;
  mode: Mode;
}

/** Where a search walks from and what it must hold (queryPredicate). */
export interface SearchPage {
  owner: Owner;
  /** Exclusive: only customers older than this id. */
  before?: string;
  limit: number;
  predicate: RawBuilder<SqlBool>;
}

type Joined = SelectQueryBuilder<
  Database & { c: CustomersTable; s: Database['customer_search'] },
  'c' | 's',
  // biome-ignore lint/complexity/noBannedTypes: Kysely's empty selection
  {}
>;

/** The owner's customers joined to their search rows, newest first, past the cursor. */
function base(db: Q, page: SearchPage): Joined {
  let query = (db as Kysely<Database>)
    .selectFrom('customers as c')
    .innerJoin('customer_search as s', 's.customer_id', 'c.id')
    .where('c.account_id', '=', page.owner.accountId)
    .where('c.mode', '=', page.owner.mode) as unknown as Joined;
  if (page.before !== undefined) query = query.where('c.id', '<', page.before);
  return query;
}

const finish = (query: Joined, page: SearchPage) =>
  query
    .where(page.predicate)
    .selectAll('c')
    .orderBy('c.id', 'desc')
    .limit(page.limit + 1);

/** Runs a search query built by one of the `*Query` functions below. */
export const run = (query: ReturnType<typeof finish>) => query.execute() as Promise<CustomerRow[]>;

/** Through the customers' email index: an exact email is one lookup, whatever the table's size. */
export function emailQuery(db: Q, page: SearchPage, emailLower: string) {
  return finish(base(db, page).where('c.email_lower', '=', emailLower), page);
}

/**
 * The trigram index's candidates, of every account, no more than `cap + 1` of them: the index
 * stops reading there (PostgreSQL's GIN index is read whole first, which the session's
 * statement timeout bounds). `narrowing`: what of each term the index is asked about, and
 * `shareOf` how common its trigrams are (search.sql.ts). PostgreSQL: one statement, customer
 * ids. SQLite: one statement per term, in its column's FTS5 table, FTS5 rowids;
 * indexCandidates combines them.
 */
export function candidatesQueries(
  dialect: Dialect,
  index: { join: 'and' | 'or'; terms: IndexedTerm[] },
  cap: number,
  narrowing: Narrowing = 'all',
  shareOf?: ShareOf,
) {
  if (dialect === 'postgres')
    return [
      sql<{
        key: number | string;
      }>`select s.customer_id as key from customer_search s where ${trigramCondition(index.join, index.terms, narrowing, shareOf)} limit ${cap + 1}`,
    ];
  return index.terms.map(({ column, term }) => {
    // A phone or email term of six digits or more: its windows, in their own index.
    const windows = termWindows(column, term, narrowing);
    const byWindows = windows.length > 0 && isWindowed(column);
    const table = sql.id(byWindows ? windowsFts(column) : ftsTable(column));
    const match = byWindows ? windowsMatch(windows) : ftsMatch(term, narrowing, sharesIn(shareOf, column));
    return sql<{
      key: number | string;
    }>`select rowid as key from ${table} where ${table} match ${match} limit ${cap + 1}`;
  });
}

/**
 * The candidates, or `cap + 1` of them when there are more than `cap`. SQLite, one term's at a
 * time: for AND, the keys every term within the cap gave (a term past it narrows nothing, and
 * the others still hold every answer); for OR, all of them, unless one term is past the cap.
 */
export async function indexCandidates(
  db: Q,
  dialect: Dialect,
  index: { join: 'and' | 'or'; terms: IndexedTerm[] },
  cap: number,
  narrowing: Narrowing = 'all',
  shareOf?: ShareOf,
): Promise<(number | string)[]> {
  const queries = candidatesQueries(dialect, index, cap, narrowing, shareOf);
  let keys: Set<number | string> | undefined;
  let overCap: (number | string)[] | undefined;
  for (const query of queries) {
    const found = (await query.execute(db)).rows.map((r) => r.key);
    if (found.length > cap) {
      if (index.join === 'or' || queries.length === 1) return found;
      overCap = found;
      continue;
    }
    if (index.join === 'or') keys = new Set([...(keys ?? []), ...found]);
    else keys = keys === undefined ? new Set(found) : new Set(found.filter((k) => keys?.has(k)));
    if (index.join === 'and' && keys.size === 0) return [];
  }
  if (keys === undefined) return overCap ?? [];
  const all = [...keys];
  // An OR's union may pass the cap though no term did.
  return all.length > cap ? all.slice(0, cap + 1) : all;
}

/** PostgreSQL's answer to a statement that ran past its `statement_timeout`. */
export const isCanceled = (error: unknown): boolean => (error as { code?: string }).code === '57014';

/**
 * Runs a search's queries. On PostgreSQL in one read transaction that plans each of them for
 * its own values (a LIKE pattern decides whether the trigram index pays, and the statements are
 * prepared, so a generic plan would be chosen once for every term) and stops any that runs past
 * `timeoutMs`.
 */
export async function inSearchSession<T>(
  db: Kysely<Database>,
  dialect: Dialect,
  timeoutMs: number,
  fn: (q: Q) => Promise<T>,
): Promise<T> {
  if (dialect === 'sqlite') return fn(db);
  return db.transaction().execute(async (trx) => {
    await sql`select set_config('plan_cache_mode', 'force_custom_plan', true), set_config('statement_timeout', ${String(timeoutMs)}, true)`.execute(
      trx,
    );
    return fn(trx);
  });
}

/**
 * The candidates the index gave, each looked up by key, tested, and sorted: a cost that depends
 * on the candidates alone. SQLite is told to start from them (a CROSS JOIN keeps its order), so
 * it never walks the customers instead.
 */
export function candidateSearchQuery(
  db: Q,
  dialect: Dialect,
  page: SearchPage,
  keys: readonly (number | string)[],
) {
  if (dialect === 'postgres')
    return finish(base(db, page).where(sql<SqlBool>`c.id = any(${[...keys]}::text[])`), page);
  let query = (db as Kysely<Database>)
    .selectFrom(sql<{ value: number }>`json_each(${JSON.stringify(keys)})`.as('m'))
    .crossJoin('customer_search as s')
    .crossJoin('customers as c')
    .whereRef('s.seq', '=', 'm.value')
    .whereRef('c.id', '=', 's.customer_id')
    .where('c.account_id', '=', page.owner.accountId)
    .where('c.mode', '=', page.owner.mode) as unknown as Joined;
  if (page.before !== undefined) query = query.where('c.id', '<', page.before);
  return finish(query, page);
}

/**
 * The id `examined` customers back from the cursor, or undefined when fewer remain: where a
 * bounded walk stops.
 */
export async function walkBoundary(db: Q, page: SearchPage, examined: number): Promise<string | undefined> {
  let query = db
    .selectFrom('customers')
    .select('id')
    .where('account_id', '=', page.owner.accountId)
    .where('mode', '=', page.owner.mode);
  if (page.before !== undefined) query = query.where('id', '<', page.before);
  const row = await query
    .orderBy('id', 'desc')
    .limit(1)
    .offset(examined - 1)
    .executeTakeFirst();
  return row?.id;
}

/** Newest first from the cursor down to `boundary` (inclusive), testing each customer. */
export function walkQuery(db: Q, page: SearchPage, boundary: string | undefined) {
  const query = base(db, page);
  return finish(boundary === undefined ? query : query.where('c.id', '>=', boundary), page);
}

/** Whether the owner has customers older than `id`. */
export async function hasOlder(db: Q, owner: Owner, id: string): Promise<boolean> {
  const row = await db
    .selectFrom('customers')
    .select('id')
    .where('account_id', '=', owner.accountId)
    .where('mode', '=', owner.mode)
    .where('id', '<', id)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * PostgreSQL: moves what each trigram index holds in its pending list into the index proper,
 * and says how many pages that emptied. GIN adds new entries to an unsorted pending list (up to
 * `gin_pending_list_limit`, 4 MB by default), which every search through the index reads whole:
 * a full list added some 2 ms to each search at a million customers. An index that is missing
 * (dropped by hand) is passed over. Needs the indexes' owner, as the migrations made them.
 */
export async function flushPendingTrigrams(db: Kysely<Database>): Promise<number> {
  const names = [...SEARCH_GIN_INDEXES];
  const { rows } = await sql<{
    pages: string | number | null;
  }>`select sum(gin_clean_pending_list(to_regclass(name))) as pages from unnest(${names}::text[]) as name`.execute(
    db,
  );
  return Number(rows[0]?.pages ?? 0);
}

/**
 * SQLite: one step of merging an FTS5 table's segments, writing about `pages` pages, and
 * whether there was anything to merge. Writes leave segments behind (migration 0012 lets 16 of
 * a level gather before a write merges them), and a term is looked up in every segment: at a
 * million customers a search took twice as long as in a merged index. A step merges only a
 * level of at least four (FTS5's `usermerge`), or carries on a merge begun; FTS5 says a step
 * did something when it changed two rows or more.
 */
export async function mergeFtsStep(db: Kysely<Database>, table: string, pages: number): Promise<boolean> {
  // On one connection held throughout, so that no other write's changes come between the counts.
  return db.connection().execute(async (conn) => {
    const changes = async () =>
      Number((await sql<{ n: number }>`select total_changes() as n`.execute(conn)).rows[0]?.n ?? 0);
    // Never waits for another process's write lock: better-sqlite3 would wait on the event
    // loop's thread, holding every request. A busy database is tidied another time.
    const waits = Number(
      (await sql<{ timeout: number }>`pragma busy_timeout`.execute(conn)).rows[0]?.timeout ?? 0,
    );
    await sql`pragma busy_timeout = 0`.execute(conn);
    try {
      const before = await changes();
      await sql`insert into ${sql.id(table)}(${sql.id(table)}, rank) values ('merge', ${pages})`.execute(
        conn,
      );
      return (await changes()) - before >= 2;
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_BUSY') return false;
      throw error;
    } finally {
      await sql.raw(`pragma busy_timeout = ${Math.trunc(waits)}`).execute(conn);
    }
  });
}

/** Stretches of consecutive rows a SQLite sample reads, at random places in the table. */
const SAMPLE_STRETCHES = 20;

/**
 * About `size` values of one indexed column, of every account (the index is one for all), for
 * telling common trigrams from rare ones. SQLite: a few stretches of rows at random places in
 * `seq` order, or the whole table when it is that small. PostgreSQL: random pages (`tablesample
 * system`), as many as `size` rows take by the planner's count of the table; the rows of a page
 * were written at about the same time, as a stretch is. Reads only: neither locks anything.
 */
export async function sampleColumn(
  db: Q,
  dialect: Dialect,
  column: (typeof TRIGRAM_COLUMNS)[number],
  size: number,
): Promise<string[]> {
  const value = sql.ref(`s.${column}`);
  if (dialect === 'postgres') {
    const counted = await sql<{
      rows: number | null;
    }>`select reltuples::float8 as rows from pg_class where oid = to_regclass('customer_search')`.execute(db);
    const rows = Number(counted.rows[0]?.rows ?? 0);
    // Half again the share wanted, since pages hold unequal counts of rows; all of a small table.
    const percent = rows > 0 ? Math.min(100, ((size * 1.5) / rows) * 100) : 100;
    const sampled = await sql<{
      value: string;
    }>`select ${value} as value from customer_search s tablesample system (${percent}) where ${value} is not null limit ${size}`.execute(
      db,
    );
    return sampled.rows.map((r) => r.value);
  }
  const bounds = await sql<{
    lo: number | null;
    hi: number | null;
  }>`select min(seq) as lo, max(seq) as hi from customer_search`.execute(db);
  const { lo, hi } = bounds.rows[0] ?? { lo: null, hi: null };
  if (lo === null || hi === null) return [];
  const span = hi - lo + 1;
  const each = Math.ceil(size / SAMPLE_STRETCHES);
  const starts =
    span <= size
      ? [lo]
      : Array.from({ length: SAMPLE_STRETCHES }, () => lo + Math.floor(Math.random() * span));
  const values: string[] = [];
  for (const start of starts) {
    const stretch = await sql<{
      value: string;
    }>`select ${value} as value from customer_search s where s.seq >= ${start} and ${value} is not null order by s.seq limit ${span <= size ? size : each}`.execute(
      db,
    );
    for (const r of stretch.rows) values.push(r.value);
  }
  return values;
}
