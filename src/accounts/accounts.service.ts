import type { Db } from '../db/index.js';
import type { AccountsTable, Mode } from '../db/schema.js';
import { AppError } from '../errors.js';
import { newId } from '../ids.js';
import * as store from './accounts.store.js';
import { evictEverywhere, type KeyCache } from './key-cache.js';
import { type AuthContext, hashSecret, newSecret, secretMode, secretStart } from './keys.js';

export interface Account {
  id: string;
  name: string;
  stripe_account_id: string | null;
  created: number;
}

const STRIPE_ACCOUNT = /^acct_[0-9A-Za-z]{1,64}$/;
const MAX_NAME = 255;

const nowSeconds = () => Math.floor(Date.now() / 1000);

function toAccount(row: AccountsTable): Account {
  return { id: row.id, name: row.name, stripe_account_id: row.stripe_account_id, created: row.created };
}

function checkStripeAccount(value: string | null): void {
  if (value !== null && !STRIPE_ACCOUNT.test(value)) {
    throw new AppError(
      'parameter_invalid',
      `'${value}' is not a Stripe connected account id (acct_…).`,
      'stripe_account',
    );
  }
}

export async function createAccount(
  db: Db,
  input: { name: string; stripeAccountId: string | null },
): Promise<{ account: Account; keys: Record<Mode, { id: string; secret: string }> }> {
  if (input.name.length === 0 || [...input.name].length > MAX_NAME || input.name.includes('\0')) {
    throw new AppError('parameter_invalid', `The account name must be 1 to ${MAX_NAME} characters.`, 'name');
  }
  checkStripeAccount(input.stripeAccountId);
  const created = nowSeconds();
  const row: AccountsTable = {
    id: newId('acct'),
    name: input.name,
    stripe_account_id: input.stripeAccountId,
    created,
  };
  const test = { id: newId('key'), secret: newSecret('test') };
  const live = { id: newId('key'), secret: newSecret('live') };
  await db.kysely.transaction().execute(async (trx) => {
    await store.insertAccount(trx, row);
    for (const [mode, key] of [
      ['test', test],
      ['live', live],
    ] as const) {
      await store.insertKey(trx, {
        id: key.id,
        account_id: row.id,
        mode,
        secret_hash: hashSecret(key.secret),
        secret_start: secretStart(key.secret),
        created,
        revoked: null,
      });
    }
  });
  return { account: toAccount(row), keys: { test, live } };
}

export async function listAccounts(db: Db): Promise<Account[]> {
  return (await store.listAccounts(db.kysely)).map(toAccount);
}

export async function countAccounts(db: Db): Promise<number> {
  return store.countAccounts(db.kysely);
}

export async function getAccount(db: Db, id: string): Promise<Account> {
  const row = await store.findAccount(db.kysely, id);
  if (!row) throw new AppError('resource_missing', `No such account: '${id}'.`, 'account');
  return toAccount(row);
}

export async function setStripeAccount(db: Db, id: string, stripeAccountId: string | null): Promise<Account> {
  checkStripeAccount(stripeAccountId);
  if (!(await store.setStripeAccount(db.kysely, id, stripeAccountId))) {
    throw new AppError('resource_missing', `No such account: '${id}'.`, 'account');
  }
  return getAccount(db, id);
}

export async function createKey(
  db: Db,
  accountId: string,
  mode: Mode,
): Promise<{ id: string; secret: string }> {
  await getAccount(db, accountId);
  const key = { id: newId('key'), secret: newSecret(mode) };
  await store.insertKey(db.kysely, {
    id: key.id,
    account_id: accountId,
    mode,
    secret_hash: hashSecret(key.secret),
    secret_start: secretStart(key.secret),
    created: nowSeconds(),
    revoked: null,
  });
  return key;
}

/** Revokes a key; every process stops accepting it on its next request (see KeyCache). */
export async function revokeKey(db: Db, keyId: string): Promise<void> {
  const key = await store.findKey(db.kysely, keyId);
  if (!key) throw new AppError('resource_missing', `No such key: '${keyId}'.`, 'key');
  await db.kysely.transaction().execute(async (trx) => {
    await store.revokeKey(trx, keyId, nowSeconds());
    if (db.dialect === 'postgres') await store.notifyKeyChange(trx, keyId);
  });
  evictEverywhere(db, keyId);
}

/**
 * The account and mode a secret speaks for, or null when the secret is malformed, unknown or
 * revoked. The caller does not learn which of the three it was: all are the same 401.
 */
export async function authenticate(db: Db, secret: string, cache?: KeyCache): Promise<AuthContext | null> {
  const mode = secretMode(secret);
  if (mode === null) return null;
  const hash = hashSecret(secret);
  const cached = cache?.get(hash);
  if (cached) return cached;
  const key = await store.findKeyByHash(db.reader, hash);
  if (!key || key.revoked !== null || key.mode !== mode) return null;
  const auth: AuthContext = { accountId: key.account_id, mode: key.mode, keyId: key.id };
  cache?.set(hash, auth);
  return auth;
}
