import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Database, StripeCustomersTable } from '../db/schema.js';

/** The link from a LuniPay customer to its Stripe customer, which the Stripe jobs keep. */

type Q = Kysely<Database> | Transaction<Database>;

export type StripeLink = Selectable<StripeCustomersTable>;

export async function findLink(db: Q, customerId: string): Promise<StripeLink | undefined> {
  return db
    .selectFrom('stripe_customers')
    .selectAll()
    .where('customer_id', '=', customerId)
    .executeTakeFirst();
}

export async function insertLink(db: Q, link: StripeLink): Promise<void> {
  await db.insertInto('stripe_customers').values(link).execute();
}

/** After a push: the metadata keys sent, and the customer's version they came from. */
export async function setLinkPushed(
  db: Q,
  customerId: string,
  pushed: { keys: string; version: number },
  now: number,
): Promise<void> {
  await db
    .updateTable('stripe_customers')
    .set({ metadata_keys: pushed.keys, pushed_version: pushed.version, updated: now })
    .where('customer_id', '=', customerId)
    .execute();
}

export async function deleteLink(db: Q, customerId: string): Promise<void> {
  await db.deleteFrom('stripe_customers').where('customer_id', '=', customerId).execute();
}

/** The link to a given Stripe customer of a connected account, if one exists. */
export async function findLinkByStripeId(
  db: Q,
  scope: { accountId: string; mode: 'test' | 'live'; stripeAccount: string },
  stripeCustomerId: string,
): Promise<StripeLink | undefined> {
  return db
    .selectFrom('stripe_customers')
    .selectAll()
    .where('account_id', '=', scope.accountId)
    .where('mode', '=', scope.mode)
    .where('stripe_account_id', '=', scope.stripeAccount)
    .where('stripe_customer_id', '=', stripeCustomerId)
    .executeTakeFirst();
}
