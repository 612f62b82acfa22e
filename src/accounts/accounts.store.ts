import { type Kysely, sql, type Transaction } from 'kysely';
import { NOTIFY_CHANNEL_KEYS } from '../db/index.js';
import type { AccountsTable, ApiKeysTable, Database } from '../db/schema.js';

type Q = Kysely<Database> | Transaction<Database>;

export async function insertAccount(db: Q, row: AccountsTable): Promise<void> {
  await db.insertInto('accounts').values(row).execute();
}

export async function listAccounts(db: Q): Promise<AccountsTable[]> {
  return db.selectFrom('accounts').selectAll().orderBy('id').execute();
}

export async function findAccount(db: Q, id: string): Promise<AccountsTable | undefined> {
  return db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function countAccounts(db: Q): Promise<number> {
  const row = await db
    .selectFrom('accounts')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The connected Stripe account of an account, if it has one. */
export async function connectedAccountOf(db: Q, accountId: string): Promise<string | null> {
  const row = await db
    .selectFrom('accounts')
    .select('stripe_account_id')
    .where('id', '=', accountId)
    .executeTakeFirst();
  return row?.stripe_account_id ?? null;
}

export async function setStripeAccount(db: Q, id: string, stripeAccountId: string | null): Promise<boolean> {
  const result = await db
    .updateTable('accounts')
    .set({ stripe_account_id: stripeAccountId })
    .where('id', '=', id)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function insertKey(db: Q, row: ApiKeysTable): Promise<void> {
  await db.insertInto('api_keys').values(row).execute();
}

export async function findKeyByHash(db: Q, secretHash: string): Promise<ApiKeysTable | undefined> {
  return db.selectFrom('api_keys').selectAll().where('secret_hash', '=', secretHash).executeTakeFirst();
}

export async function findKey(db: Q, id: string): Promise<ApiKeysTable | undefined> {
  return db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
}

/** PostgreSQL: tells every listening process, when the transaction commits, that a key changed. */
export async function notifyKeyChange(db: Q, keyId: string): Promise<void> {
  await sql`select pg_notify(${NOTIFY_CHANNEL_KEYS}, ${keyId})`.execute(db);
}

/** Marks a key revoked once; revoking again keeps the first time. */
export async function revokeKey(db: Q, id: string, at: number): Promise<void> {
  await db
    .updateTable('api_keys')
    .set({ revoked: at })
    .where('id', '=', id)
    .where('revoked', 'is', null)
    .execute();
}
