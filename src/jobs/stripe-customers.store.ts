import type { Kysely, Selectable, Transaction } from 'kysely';
import type { CustomerRow } from '../customers/customers.store.js';
import type { Database } from '../db/schema.js';
import type { JobTables, StripeCustomersTable } from './jobs.store.js';

/**
 * What the Stripe jobs read and write besides the jobs themselves: the link from a LuniPay
 * customer to its Stripe customer, and the two customer columns provisioning owns.
 */

type Q = Kysely<Database> | Transaction<Database>;
const q = (db: Q) => db.withTables<JobTables>();

export type StripeLink = Selectable<StripeCustomersTable>;

export async function findLink(db: Q, customerId: string): Promise<StripeLink | undefined> {
  return q(db)
    .selectFrom('stripe_customers')
    .selectAll()
    .where('customer_id', '=', customerId)
    .executeTakeFirst();
}

export async function insertLink(db: Q, link: StripeLink): Promise<void> {
  await q(db).insertInto('stripe_customers').values(link).execute();
}

export async function setLinkMetadataKeys(
  db: Q,
  customerId: string,
  keys: string,
  now: number,
): Promise<void> {
  await q(db)
    .updateTable('stripe_customers')
    .set({ metadata_keys: keys, updated: now })
    .where('customer_id', '=', customerId)
    .execute();
}

export async function deleteLink(db: Q, customerId: string): Promise<void> {
  await q(db).deleteFrom('stripe_customers').where('customer_id', '=', customerId).execute();
}

/** The customer as it is now, whoever owns it; undefined once deleted. */
export async function findCustomerById(db: Q, id: string): Promise<CustomerRow | undefined> {
  return db.selectFrom('customers').selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * Sets only the columns provisioning owns, so a concurrent change to other fields is kept; the
 * version moves on like any write. Does nothing once a Stripe id is set or the row is gone;
 * says whether it set it.
 */
export async function setStripeCustomerId(
  db: Q,
  customerId: string,
  stripeCustomerId: string,
  updatedSeconds: number,
): Promise<boolean> {
  const result = await db
    .updateTable('customers')
    .set((eb) => ({
      stripe_customer_id: stripeCustomerId,
      updated: updatedSeconds,
      version: eb('version', '+', 1),
    }))
    .where('id', '=', customerId)
    .where('stripe_customer_id', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function connectedAccountOf(db: Q, accountId: string): Promise<string | null> {
  const row = await db
    .selectFrom('accounts')
    .select('stripe_account_id')
    .where('id', '=', accountId)
    .executeTakeFirst();
  return row?.stripe_account_id ?? null;
}
