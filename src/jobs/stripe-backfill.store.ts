import { type Kysely, sql, type Transaction } from 'kysely';
import type { Database, Mode } from '../db/schema.js';
import { UNFINISHED } from './jobs.store.js';

/**
 * The SQL of backfill: keyset pages (by customer id, never OFFSET) of the customers an account's
 * connected account is missing something for. Each page is read by the index on
 * (account_id, mode, id), with one primary-key probe into the links and one indexed probe into
 * the customer's jobs per row, so a page costs the same at any depth.
 */

type Q = Kysely<Database> | Transaction<Database>;

export interface Scope {
  accountId: string;
  mode: Mode;
  /** the account's connected account now */
  stripeAccount: string;
}

export interface Unprovisioned {
  id: string;
  account_id: string;
  mode: Mode;
  /** the Stripe customer it has on another connected account, which a new one replaces */
  replaces: string | null;
}

/** Whether the customer has an unfinished job of `type` (for `stripeAccount`, when given). */
function hasUnfinished(type: string, stripeAccount?: string) {
  return sql<boolean>`exists (select 1 from jobs j where j.customer_id = c.id and j.type = ${type}
    and j.state in (${sql.join(UNFINISHED)})${
      // Payloads are written by JSON.stringify, so this is the exact text a job for that
      // connected account holds; a job for an older one does not count (it skips itself).
      stripeAccount === undefined ? sql`` : sql` and j.payload like ${`%"stripeAccount":"${stripeAccount}"%`}`
    })`;
}

/** Customers with no Stripe customer on the connected account, and no job on its way to make one. */
export async function unprovisionedPage(
  db: Q,
  scope: Scope,
  after: string,
  limit: number,
): Promise<Unprovisioned[]> {
  return db
    .selectFrom('customers as c')
    .leftJoin('stripe_customers as l', 'l.customer_id', 'c.id')
    .select(['c.id', 'c.account_id', 'c.mode', 'l.stripe_customer_id as replaces'])
    .where('c.account_id', '=', scope.accountId)
    .where('c.mode', '=', scope.mode)
    .where('c.id', '>', after)
    .where((eb) =>
      eb.or([eb('l.customer_id', 'is', null), eb('l.stripe_account_id', '!=', scope.stripeAccount)]),
    )
    .where((eb) => eb.not(hasUnfinished('provision_customer', scope.stripeAccount)))
    .orderBy('c.id')
    .limit(limit)
    .execute();
}

/**
 * Linked customers changed since the last push to Stripe (the account was disconnected
 * meanwhile), or never pushed to, with no update waiting.
 */
export async function changedSincePushPage(
  db: Q,
  scope: Scope,
  after: string,
  limit: number,
): Promise<{ id: string; account_id: string; mode: Mode; version: number }[]> {
  const rows = await db
    .selectFrom('customers as c')
    .innerJoin('stripe_customers as l', 'l.customer_id', 'c.id')
    .select(['c.id', 'c.account_id', 'c.mode', 'c.version'])
    .where('c.account_id', '=', scope.accountId)
    .where('c.mode', '=', scope.mode)
    .where('c.id', '>', after)
    .where('l.stripe_account_id', '=', scope.stripeAccount)
    .where((eb) =>
      eb.or([eb('l.pushed_version', 'is', null), eb('c.version', '>', eb.ref('l.pushed_version'))]),
    )
    .where((eb) => eb.not(hasUnfinished('update_customer')))
    .orderBy('c.id')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ ...r, version: Number(r.version) }));
}

/** Links whose LuniPay customer was deleted while nothing was pushed, with no delete waiting. */
export async function orphanLinksPage(
  db: Q,
  scope: Scope,
  after: string,
  limit: number,
): Promise<{ id: string; account_id: string; mode: Mode }[]> {
  return db
    .selectFrom('stripe_customers as l')
    .select(['l.customer_id as id', 'l.account_id', 'l.mode'])
    .where('l.account_id', '=', scope.accountId)
    .where('l.mode', '=', scope.mode)
    .where('l.stripe_account_id', '=', scope.stripeAccount)
    .where('l.customer_id', '>', after)
    .where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom('customers as x').select('x.id').whereRef('x.id', '=', 'l.customer_id'))),
    )
    .where(
      sql<boolean>`not exists (select 1 from jobs j where j.customer_id = l.customer_id
        and j.type = 'delete_customer' and j.state in (${sql.join(UNFINISHED)}))`,
    )
    .orderBy('l.customer_id')
    .limit(limit)
    .execute();
}

/** Accounts with a connected account: one, or all of them. */
export async function connectedAccounts(
  db: Q,
  accountId?: string,
): Promise<{ id: string; stripe_account_id: string }[]> {
  let query = db
    .selectFrom('accounts')
    .select(['id', 'stripe_account_id'])
    .where('stripe_account_id', 'is not', null);
  if (accountId !== undefined) query = query.where('id', '=', accountId);
  const rows = await query.orderBy('id').execute();
  return rows.map((r) => ({ id: r.id, stripe_account_id: r.stripe_account_id as string }));
}

/** Customers of connected accounts, in the given modes, with no Stripe customer on their account's one. */
export async function countUnprovisioned(db: Q, modes: readonly Mode[]): Promise<number> {
  if (modes.length === 0) return 0;
  const row = await db
    .selectFrom('customers as c')
    .innerJoin('accounts as a', 'a.id', 'c.account_id')
    .leftJoin('stripe_customers as l', 'l.customer_id', 'c.id')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('a.stripe_account_id', 'is not', null)
    .where('c.mode', 'in', modes)
    .where((eb) =>
      eb.or([
        eb('l.customer_id', 'is', null),
        eb('l.stripe_account_id', '!=', eb.ref('a.stripe_account_id')),
      ]),
    )
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
