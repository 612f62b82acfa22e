import type { Kysely, Transaction } from 'kysely';
import { batchedById } from '../db/batched.js';
import type { CustomersTable, Database, Mode } from '../db/schema.js';

type Q = Kysely<Database> | Transaction<Database>;
export type CustomerRow = Omit<CustomersTable, 'version'> & { version: number };

/** Who owns a row: every query below is scoped by both, so tenants and modes never meet. */
export interface Owner {
  accountId: string;
  mode: Mode;
}

/** `lock` takes a row lock until the transaction ends (PostgreSQL; SQLite transactions are serial). */
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

export async function updateCustomer(
  db: Q,
  owner: Owner,
  id: string,
  changes: CustomerChanges,
): Promise<boolean> {
  const result = await db
    .updateTable('customers')
    .set((eb) => ({ ...changes, version: eb('version', '+', 1) }))
    .where('id', '=', id)
    .where('account_id', '=', owner.accountId)
    .where('mode', '=', owner.mode)
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
  return result.numDeletedRows > 0n;
}

export interface ListFilter {
  emailLower?: string;
  created?: { eq?: number; gt?: number; gte?: number; lt?: number; lte?: number };
}

/**
 * One page by keyset on the primary key: `id < cursor` walking older (`direction: 'older'`),
 * or `id > cursor` walking newer. Fetches `limit + 1` rows so the caller can tell whether more
 * exist without a second query. Rows come back in walking order.
 */
export async function listCustomers(
  db: Q,
  owner: Owner,
  page: { limit: number; cursor?: string; direction: 'older' | 'newer' },
  filter: ListFilter,
): Promise<CustomerRow[]> {
  let query = db
    .selectFrom('customers')
    .selectAll()
    .where('account_id', '=', owner.accountId)
    .where('mode', '=', owner.mode);
  if (filter.emailLower !== undefined) query = query.where('email_lower', '=', filter.emailLower);
  const c = filter.created;
  if (c?.eq !== undefined) query = query.where('created', '=', c.eq);
  if (c?.gt !== undefined) query = query.where('created', '>', c.gt);
  if (c?.gte !== undefined) query = query.where('created', '>=', c.gte);
  if (c?.lt !== undefined) query = query.where('created', '<', c.lt);
  if (c?.lte !== undefined) query = query.where('created', '<=', c.lte);
  if (page.cursor !== undefined)
    query = query.where('id', page.direction === 'older' ? '<' : '>', page.cursor);
  return query
    .orderBy('id', page.direction === 'older' ? 'desc' : 'asc')
    .limit(page.limit + 1)
    .execute();
}
