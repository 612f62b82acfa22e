import { type Kysely, type QueryCreator, type SqlBool, sql, type Transaction } from 'kysely';
import { batchedById } from '../db/batched.js';
import { onPostgres } from '../db/dialect.js';
import type { HeldWrites } from '../db/held-writes.js';
import type { Coalescer, WriteBatch } from '../db/index.js';
import { type CreatedRange, createdWithin, type KeysetPage, keysetPage } from '../db/keyset.js';
import { RowInserter } from '../db/row-inserts.js';
import type { CustomerSearchTable, CustomersTable, Database, Mode } from '../db/schema.js';
import { SEARCHED_COLUMNS, searchRow } from '../db/search-row.js';

type Q = Kysely<Database> | Transaction<Database>;
export type CustomerRow = Omit<CustomersTable, 'version'> & { version: number };
/** A row as inserted: `version` starts at its default. */
export type NewCustomerRow = Omit<CustomersTable, 'version'>;

/**
 * Who owns a row: every query the API makes is scoped by both, so tenants and modes never meet.
 * Only the Stripe jobs' two (`findCustomerById`, `setStripeCustomerId`) go by id alone: a job is
 * made by the customer's own write, and names its customer.
 */
export interface Owner {
  accountId: string;
  mode: Mode;
}

/** Rows per insert statement by default: powers of two up to this, so the statement texts are few. */
const ROWS_PER_INSERT = 64;

/**
 * Inserts rows in multi-row statements: of `maxRowsPerStatement` rows while that many remain,
 * then of half as many, and so on down to 1 (64, 32, …, 1 by default). One statement instead of
 * one per row, from a handful of distinct texts, each built and prepared once (db/row-inserts.ts).
 * At 14 columns a row, up to
 * 2048 rows a statement stay within both dialects' bound-parameter limits (SQLite 32766,
 * PostgreSQL 65535).
 */
export async function insertCustomers(
  trx: Transaction<Database>,
  rows: readonly NewCustomerRow[],
  maxRowsPerStatement = ROWS_PER_INSERT,
  /** Where a group-commit batch on PostgreSQL holds the inserts, to ride on its events' statement. */
  held?: HeldWrites,
): Promise<void> {
  // The search rows commit with the customers: a search answered after the create finds them.
  const search = rows.map(searchRow);
  if (held !== undefined && onPostgres(trx)) {
    customerRows.hold(trx, rows, held, maxRowsPerStatement);
    searchRows.hold(trx, search, held, maxRowsPerStatement);
    return;
  }
  await customerRows.insertWith(trx, rows, searchRows, search, maxRowsPerStatement);
}

const customerRows = new RowInserter<'customers', NewCustomerRow>(
  'customers',
  {
    id: true,
    account_id: true,
    mode: true,
    email: true,
    email_lower: true,
    first_name: true,
    last_name: true,
    phone: true,
    company_name: true,
    notes: true,
    metadata: true,
    stripe_customer_id: true,
    created: true,
    updated: true,
  },
  ROWS_PER_INSERT,
);

type SearchValues = Omit<CustomerSearchTable, 'seq' | 'customer_id'>;
/** The search row's columns besides its key: every one, or this does not compile. */
const SEARCH_VALUE_COLUMNS: Record<keyof SearchValues, true> = {
  email: true,
  email_windows: true,
  name: true,
  first_name: true,
  last_name: true,
  phone: true,
  phone_windows: true,
  company_name: true,
  metadata: true,
};
const SEARCH_VALUES = Object.keys(SEARCH_VALUE_COLUMNS) as (keyof SearchValues)[];

const searchRows = new RowInserter<'customer_search', Omit<CustomerSearchTable, 'seq'>>(
  'customer_search',
  { customer_id: true, ...SEARCH_VALUE_COLUMNS },
  ROWS_PER_INSERT,
);

/**
 * The rows of creates committed together, inserted as one: on PostgreSQL one round trip
 * instead of one per create, and held there for the batch's events' statement to take, so a
 * batch of creates is BEGIN, one statement, COMMIT. After the writes run: nothing a create's
 * write or hooks do reads its row, and its row takes no lock another write could wait on.
 */
export const customerInserts: Coalescer<NewCustomerRow> = {
  key: 'customers.insert',
  phase: 'after',
  flush: (trx, rows, held) => insertCustomers(trx, rows, ROWS_PER_INSERT, held),
};

/** `lock` (`Db.locksRows`) takes a row lock until the transaction ends. */
export async function findCustomer(
  db: Q,
  owner: Owner,
  id: string,
  lock = false,
): Promise<CustomerRow | undefined> {
  if (!lock && !db.isTransaction) {
    const row = await findCustomerBatched(db, id);
    // Scoped like every query here: a row of another account or mode is no row at all.
    return row && row.account_id === owner.accountId && row.mode === owner.mode ? row : undefined;
  }
  const query = db
    .selectFrom('customers')
    .selectAll()
    .where('id', '=', id)
    .where('account_id', '=', owner.accountId)
    .where('mode', '=', owner.mode);
  return (lock ? query.forUpdate() : query).executeTakeFirst();
}

// Every retrieve runs this: retrieves arriving together share one query.
const findCustomerBatched = batchedById<CustomerRow>((db, ids) =>
  db.selectFrom('customers').selectAll().where('id', 'in', ids).execute(),
);

/** The customer as it is now, whoever owns it (for the Stripe jobs); undefined once deleted. */
export async function findCustomerById(db: Q, id: string): Promise<CustomerRow | undefined> {
  return db.selectFrom('customers').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The mode a customer id lives in within one account, to say so in a 404 for the other mode. */
export async function findCustomerMode(db: Q, accountId: string, id: string): Promise<Mode | undefined> {
  const row = await db
    .selectFrom('customers')
    .select('mode')
    .where('id', '=', id)
    .where('account_id', '=', accountId)
    .executeTakeFirst();
  return row?.mode;
}

export type CustomerChanges = Partial<
  Pick<
    CustomersTable,
    | 'email'
    | 'email_lower'
    | 'first_name'
    | 'last_name'
    | 'phone'
    | 'company_name'
    | 'notes'
    | 'metadata'
    | 'stripe_customer_id'
    | 'updated'
  >
>;

const UPDATES_PER_STATEMENT = 200;

/**
 * SQLite: the search rows of a batch's updates, written as one statement just before COMMIT. FTS5
 * writes the terms it holds for a table into a new segment of its index at every savepoint, and
 * SQLite opens one for each statement that fires triggers: updated one statement each, a batch
 * of fifty updates left fifty segments per FTS5 table it touched, each with its structure record
 * rewritten and all of them merged later, where one statement leaves one. Measured on bare
 * better-sqlite3 at 300,000 rows, batches of 50 phone changes: 31 µs of FTS5 work an update one
 * statement each, 12–16 µs in one. A customer updated twice in a batch gets its last values.
 */
export const searchRowUpdates: Coalescer<{ id: string; values: SearchValues }> = {
  key: 'customer_search.update',
  phase: 'after',
  async flush(trx, updates) {
    const last = new Map(updates.map((u) => [u.id, u.values]));
    const rows = [...last].map(([id, values]) => [id, ...SEARCH_VALUES.map((c) => values[c])]);
    const sets = sql.join(SEARCH_VALUES.map((c, i) => sql`${sql.ref(c)} = v.value ->> ${sql.lit(i + 1)}`));
    for (let at = 0; at < rows.length; at += UPDATES_PER_STATEMENT) {
      const chunk = JSON.stringify(rows.slice(at, at + UPDATES_PER_STATEMENT));
      await sql`update customer_search set ${sets} from json_each(${chunk}) as v where customer_search.customer_id = v.value ->> 0`.execute(
        trx,
      );
    }
  },
};

export async function updateCustomer(
  db: Q,
  owner: Owner,
  id: string,
  changes: CustomerChanges,
  after: NewCustomerRow,
  batch?: WriteBatch,
): Promise<boolean> {
  const update = (q: QueryCreator<Database>) =>
    q
      .updateTable('customers')
      .set((eb) => ({ ...changes, version: eb('version', '+', 1) }))
      .where('id', '=', id)
      .where('account_id', '=', owner.accountId)
      .where('mode', '=', owner.mode);
  if (!SEARCHED_COLUMNS.some((column) => changes[column] !== undefined)) {
    return (await update(db).executeTakeFirst()).numUpdatedRows > 0n;
  }
  // The search row follows from the row as it now is (`after`), so it is not read back.
  const { customer_id: _, ...values } = searchRow(after);
  const search = (q: QueryCreator<Database>) =>
    q.updateTable('customer_search').set(values).where('customer_id', '=', id);
  if (onPostgres(db)) {
    // One round trip: the search row's update rides the customer's as a data-modifying WITH.
    // Both are rows of the same customer; the search row changes only if the customer did.
    const owned = sql<SqlBool>`exists (select 1 from customers where id = ${id} and account_id = ${owner.accountId} and mode = ${owner.mode})`;
    const withSearch = db.with('search', (q) => search(q).where(owned)) as unknown as QueryCreator<Database>;
    const result = await update(withSearch).executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }
  const found = (await update(db).executeTakeFirst()).numUpdatedRows > 0n;
  if (found && batch) batch.add(searchRowUpdates, { id, values });
  else if (found) await search(db).execute();
  return found;
}

/**
 * Sets only the columns provisioning owns, so a concurrent change to other fields is kept; the
 * version moves on like any write. Does nothing unless the Stripe id is still `expected` (null:
 * not provisioned yet; else the Stripe customer being replaced), or when the row is gone.
 */
export async function setStripeCustomerId(
  db: Q,
  customerId: string,
  stripeCustomerId: string,
  updatedSeconds: number,
  expected: string | null = null,
): Promise<boolean> {
  const result = await db
    .updateTable('customers')
    .set((eb) => ({
      stripe_customer_id: stripeCustomerId,
      updated: updatedSeconds,
      version: eb('version', '+', 1),
    }))
    .where('id', '=', customerId)
    .where('stripe_customer_id', expected === null ? 'is' : '=', expected)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function deleteCustomer(db: Q, owner: Owner, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom('customers')
    .where('id', '=', id)
    .where('account_id', '=', owner.accountId)
    .where('mode', '=', owner.mode)
    .executeTakeFirst();
  if (result.numDeletedRows === 0n) return false;
  // Its searchable copy, and the record of the import row it came from, go with it.
  await db.deleteFrom('customer_search').where('customer_id', '=', id).execute();
  await db.deleteFrom('customer_imports').where('customer_id', '=', id).execute();
  return true;
}

export interface ListFilter {
  emailLower?: string;
  created?: CreatedRange;
}

/**
 * One page by keyset on the primary key (db/keyset.ts): `id < cursor` walking older, `id >
 * cursor` walking newer, `limit + 1` rows in walking order.
 */
export async function listCustomers(
  db: Q,
  owner: Owner,
  page: KeysetPage,
  filter: ListFilter,
): Promise<CustomerRow[]> {
  return listed(db, owner, filter).selectAll().$call(keysetPage(page)).execute();
}

/** The customers of `owner` that a list's filters keep. */
function listed(db: Q, owner: Owner, filter: ListFilter) {
  let query = db
    .selectFrom('customers')
    .where('account_id', '=', owner.accountId)
    .where('mode', '=', owner.mode);
  if (filter.emailLower !== undefined) query = query.where('email_lower', '=', filter.emailLower);
  return query.$call(createdWithin(filter.created));
}

/**
 * A customer as the API shows it, built by the database as JSON text, in the order of the
 * Customer schema, for retrieve and list: each row is one string read, where the columns one by
 * one would be eleven, each turned into a JavaScript value, then into an object, then back into
 * JSON. What the two dialects build is the same JSON as `toCustomer` serialised
 * (customers.list.test.ts).
 */
const CUSTOMER_JSON = {
  postgres: sql<string>`(select row_to_json(r)::text from (select customers.id, 'customer'::text as object, customers.mode = 'live' as livemode, customers.email, customers.first_name, customers.last_name, customers.phone, customers.company_name, customers.notes, customers.metadata::json as metadata, customers.stripe_customer_id, customers.created, customers.updated) r)`,
  sqlite: sql<string>`json_object('id', id, 'object', 'customer', 'livemode', json(iif(mode = 'live', 'true', 'false')), 'email', email, 'first_name', first_name, 'last_name', last_name, 'phone', phone, 'company_name', company_name, 'notes', notes, 'metadata', json(metadata), 'stripe_customer_id', stripe_customer_id, 'created', created, 'updated', updated)`,
};
const customerJson = (postgres: boolean) => (postgres ? CUSTOMER_JSON.postgres : CUSTOMER_JSON.sqlite);

/** A customer as the API's JSON, with its owner for the caller's check. */
export interface CustomerJsonRow {
  id: string;
  account_id: string;
  mode: Mode;
  json: string;
}

// Every retrieve runs this: retrieves arriving together share one query.
const findCustomerJsonBatched = batchedById<CustomerJsonRow>((db, ids) =>
  db
    .selectFrom('customers')
    .select(['id', 'account_id', 'mode', customerJson(onPostgres(db)).as('json')])
    .where('id', 'in', ids)
    .execute(),
);

/** A customer of `owner` as the API's JSON (see `customerJson`); undefined for any other. */
export async function findCustomerJson(
  db: Kysely<Database>,
  owner: Owner,
  id: string,
): Promise<string | undefined> {
  const row = await findCustomerJsonBatched(db, id);
  // Scoped like every query here: a row of another account or mode is no row at all.
  return row && row.account_id === owner.accountId && row.mode === owner.mode ? row.json : undefined;
}

/** One page of the list as the API's JSON, a string a customer (see `customerJson`). */
export async function listCustomersJson(
  db: Q,
  owner: Owner,
  page: KeysetPage,
  filter: ListFilter,
): Promise<string[]> {
  const rows = await listed(db, owner, filter)
    .select(customerJson(onPostgres(db)).as('json'))
    .$call(keysetPage(page))
    .execute();
  return rows.map((row) => row.json);
}
