import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { DatabaseConfig } from '../config.js';
import type { CustomersTable } from './schema.js';
import { searchRow } from './search-row.js';

// The search tables (migrations 0009 and 0012), in a file of their own: the trigram indexes
// differ by dialect, and PostgreSQL's needs an extension.

/** The columns with a trigram index: `first_name` and `last_name` are found through `name`. */
export const TRIGRAM_COLUMNS = ['email', 'name', 'phone', 'company_name'] as const;

/**
 * pg_trgm, in `public` so that it outlives any one schema: an extension lives in one schema per
 * database, and the tables of several LuniPay databases may share a database in separate
 * schemas (dropping one with CASCADE must not drop the others' indexes). Returns the schema that
 * holds it, to qualify its operator class.
 *
 * Migrations take turns under an advisory lock, so two LuniPay processes never race here; a
 * third party creating it at the same moment fails our statement with a duplicate, which the
 * savepoint absorbs before we look again. Where this role may not create extensions and nobody
 * has, the migration stops with a message saying what to run: search without its index would
 * scan every customer, and serving that silently is worse than not starting.
 */
async function trigramSchema(db: Kysely<unknown>): Promise<string> {
  const installed = async () =>
    (
      await sql<{
        schema: string;
      }>`select n.nspname as schema from pg_extension e join pg_namespace n on n.oid = e.extnamespace where e.extname = 'pg_trgm'`.execute(
        db,
      )
    ).rows[0]?.schema;
  const found = await installed();
  if (found !== undefined) return found;
  await sql`savepoint lunipay_pg_trgm`.execute(db);
  try {
    await sql`create extension if not exists pg_trgm with schema public`.execute(db);
    await sql`release savepoint lunipay_pg_trgm`.execute(db);
  } catch (error) {
    await sql`rollback to savepoint lunipay_pg_trgm`.execute(db);
    if ((await installed()) === undefined) {
      throw new Error(
        `PostgreSQL's pg_trgm extension is missing and could not be created (${(error as Error).message}). ` +
          'Customer search needs it: have a superuser run `create extension pg_trgm with schema public` in this database, then start again.',
      );
    }
  }
  return (await installed()) as string;
}

const BACKFILL_CHUNK = 1000;

/** Rows for the customers already there, in chunks by id: the write path keeps them from now on. */
async function backfill(db: Kysely<unknown>): Promise<void> {
  let after = '';
  for (;;) {
    const rows = (
      await sql<CustomersTable>`select id, email, first_name, last_name, phone, company_name, metadata from customers where id > ${after} order by id limit ${BACKFILL_CHUNK}`.execute(
        db,
      )
    ).rows;
    if (rows.length === 0) return;
    // The columns of the table as this migration makes it: the windows come in 0015 and 0017.
    const values = rows.map((row) => {
      const { phone_windows: _, email_windows: __, ...made } = searchRow(row);
      return made;
    });
    for (let i = 0; i < values.length; i += 100) {
      await (db as Kysely<{ customer_search: (typeof values)[number] }>)
        .insertInto('customer_search')
        .values(values.slice(i, i + 100))
        .execute();
    }
    after = (rows[rows.length - 1] as CustomersTable).id;
  }
}

export async function createSearchTables(
  db: Kysely<unknown>,
  dialect: DatabaseConfig['dialect'],
  idColumn: RawBuilder<unknown>,
): Promise<void> {
  let table = db.schema.createTable('customer_search');
  // SQLite: an integer key, the FTS5 table's rowid. The customer id stays unique beside it.
  if (dialect === 'sqlite') table = table.addColumn('seq', 'integer', (c) => c.primaryKey());
  await table
    .addColumn('customer_id', idColumn, (c) => (dialect === 'sqlite' ? c.notNull().unique() : c.primaryKey()))
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('first_name', 'text', (c) => c.notNull())
    .addColumn('last_name', 'text', (c) => c.notNull())
    .addColumn('phone', 'text')
    .addColumn('company_name', 'text')
    .addColumn('metadata', 'text')
    .execute();
  if (dialect === 'sqlite') {
    // External content: the text is kept once, in customer_search; triggers keep the index in
    // step within the same statement. Case-sensitive, since the columns are folded already.
    const columns = TRIGRAM_COLUMNS.join(', ');
    const news = TRIGRAM_COLUMNS.map((c) => `new.${c}`).join(', ');
    const olds = TRIGRAM_COLUMNS.map((c) => `old.${c}`).join(', ');
    await sql
      .raw(
        `create virtual table customer_search_fts using fts5(${columns}, content='customer_search', content_rowid='seq', tokenize='trigram case_sensitive 1')`,
      )
      .execute(db);
    const remove = `insert into customer_search_fts(customer_search_fts, rowid, ${columns}) values ('delete', old.seq, ${olds});`;
    // A deleted customer's text leaves the index at once, not at some later merge of its segments:
    // without secure-delete FTS5 only marks it deleted, and its trigrams stay in the file. It is
    // on for deletes only. It rewrites every doclist the text's trigrams are in, and a trigram
    // common to all customers ("+1 " in phone numbers) has a doclist as long as the table: on
    // for updates too, it made each update cost a walk of the whole index (updates fell from
    // thousands a second to under two hundred at 50,000 customers). An update's old values
    // stay in freed pages until reused, like any overwritten row in SQLite's file.
    const secureDelete = (on: 0 | 1) =>
      `insert into customer_search_fts(customer_search_fts, rank) values ('secure-delete', ${on});`;
    const add = `insert into customer_search_fts(rowid, ${columns}) values (new.seq, ${news});`;
    await sql
      .raw(`create trigger customer_search_ai after insert on customer_search begin ${add} end`)
      .execute(db);
    await sql
      .raw(
        `create trigger customer_search_ad after delete on customer_search begin ${secureDelete(1)} ${remove} ${secureDelete(0)} end`,
      )
      .execute(db);
    await sql
      .raw(`create trigger customer_search_au after update on customer_search begin ${remove} ${add} end`)
      .execute(db);
  } else {
    const schema = await trigramSchema(db);
    for (const column of TRIGRAM_COLUMNS) {
      await sql`create index ${sql.id(trigramIndex(column))} on customer_search using gin (${sql.ref(column)} ${sql.id(schema)}.gin_trgm_ops)`.execute(
        db,
      );
    }
  }
  // Which customer an import made from which row, so running a file again creates nothing.
  await db.schema
    .createTable('customer_imports')
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('mode', 'text', (c) => c.notNull().check(sql`mode in ('test', 'live')`))
    .addColumn('row_hash', 'text', (c) => c.notNull())
    .addColumn('customer_id', idColumn, (c) => c.notNull())
    .addColumn('created', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('customer_imports_pk', ['account_id', 'mode', 'row_hash'])
    .execute();
  await db.schema
    .createIndex('customer_imports_customer')
    .on('customer_imports')
    .column('customer_id')
    .execute();
  await backfill(db);
}

/** PostgreSQL: the GIN index of one searched column (migration 0009). */
export const trigramIndex = (column: (typeof TRIGRAM_COLUMNS)[number]): string =>
  `customer_search_${column}_trgm`;

/** SQLite: the FTS5 table that indexes one searched column (migration 0012). */
export const ftsTable = (column: (typeof TRIGRAM_COLUMNS)[number]): string => `customer_search_${column}_fts`;

/**
 * SQLite: one FTS5 table per searched column in place of one for all four, each kept in step by
 * its own triggers, and an update re-indexes only the columns it changed. With one table, FTS5
 * can only delete a row's text and add it again whole: changing a phone number rewrote the
 * trigrams of the email, the name and the company too, four times the index work of the change.
 * Each column's trigram lists are also only that column's: a digit triple of the emails no
 * longer lengthens the phone's. PostgreSQL's GIN indexes were per column already.
 *
 * The new tables are filled from `customer_search` by FTS5's `rebuild`, in the migration's
 * transaction: a table of a million customers takes a minute or two, once.
 */
export async function splitSearchIndex(
  db: Kysely<unknown>,
  dialect: DatabaseConfig['dialect'],
): Promise<void> {
  if (dialect !== 'sqlite') return;
  for (const name of ['customer_search_ai', 'customer_search_ad', 'customer_search_au']) {
    await sql.raw(`drop trigger ${name}`).execute(db);
  }
  await sql.raw('drop table customer_search_fts').execute(db);
  await createTrigramTables(db, '');
}

/**
 * SQLite: the per-column FTS5 tables, filled from `customer_search` and kept in step by their
 * triggers. `options`: more of FTS5's options, after the tokenizer (migration 0016).
 */
async function createTrigramTables(db: Kysely<unknown>, options: string): Promise<void> {
  const adds: string[] = [];
  const removes: string[] = [];
  for (const column of TRIGRAM_COLUMNS) {
    const table = ftsTable(column);
    await sql
      .raw(
        `create virtual table ${table} using fts5(${column}, content='customer_search', content_rowid='seq', tokenize='trigram case_sensitive 1'${options})`,
      )
      .execute(db);
    // FTS5 merges its segments as it writes: by default whenever 4 of a level exist, which at a
    // million customers made each create rewrite several times its own size of index (a create
    // cost about 1 ms of FTS5 work, an update 0.5 ms). At 16 it merges a quarter as often;
    // a term's lookup visits more segments, a few microseconds each.
    await sql.raw(`insert into ${table}(${table}, rank) values ('automerge', 16)`).execute(db);
    // A level that reaches `crisismerge` segments (16 by default) is merged whole, at once, inside
    // the write that tipped it: at a million customers that held a commit, and every request
    // waiting on it, for up to two seconds. Above automerge, the incremental merges keep up.
    await sql.raw(`insert into ${table}(${table}, rank) values ('crisismerge', 64)`).execute(db);
    await sql.raw(`insert into ${table}(${table}) values ('rebuild')`).execute(db);
    const add = `insert into ${table}(rowid, ${column}) values (new.seq, new.${column});`;
    const remove = `insert into ${table}(${table}, rowid, ${column}) values ('delete', old.seq, old.${column});`;
    adds.push(add);
    // Secure-delete for deletions only, as before: see createSearchTables.
    const secureDelete = (on: 0 | 1) =>
      `insert into ${table}(${table}, rank) values ('secure-delete', ${on});`;
    removes.push(`${secureDelete(1)} ${remove} ${secureDelete(0)}`);
    await sql
      .raw(
        `create trigger ${table}_au after update of ${column} on customer_search when old.${column} is not new.${column} begin ${remove} ${add} end`,
      )
      .execute(db);
  }
  await sql
    .raw(`create trigger customer_search_ai after insert on customer_search begin ${adds.join(' ')} end`)
    .execute(db);
  await sql
    .raw(`create trigger customer_search_ad after delete on customer_search begin ${removes.join(' ')} end`)
    .execute(db);
}

/**
 * SQLite: the trigram tables again, without their sizes (`columnsize=0`): FTS5 keeps a row of
 * `…_docsize` per customer per table, the number of tokens, for ranking, which search does not
 * do. Each create inserted four such rows and each update deleted and inserted one, on top of
 * the index itself. On bare better-sqlite3 at 300,000 customers, an update's index work fell
 * from about 40 to 27 µs of CPU (updates of the phone, in transactions of 20, less the same
 * without the tables); a create's moved less than its runs swing. The positions stay: a phrase
 * is how a term is asked about whole, and FTS5's secure-delete, which a delete uses, corrupts
 * a table without them (`detail=none`, SQLite 3.53). Rebuilt from `customer_search` in the
 * migration's transaction, as 0012 did.
 */
export async function trigramTablesWithoutSizes(
  db: Kysely<unknown>,
  dialect: DatabaseConfig['dialect'],
): Promise<void> {
  if (dialect !== 'sqlite') return;
  await sql.raw('drop trigger customer_search_ai').execute(db);
  await sql.raw('drop trigger customer_search_ad').execute(db);
  for (const column of TRIGRAM_COLUMNS) {
    await sql.raw(`drop trigger ${ftsTable(column)}_au`).execute(db);
    await sql.raw(`drop table ${ftsTable(column)}`).execute(db);
  }
  await createTrigramTables(db, ', columnsize=0');
}
