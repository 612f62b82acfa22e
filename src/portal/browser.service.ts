import type { Transaction } from 'kysely';
import { findAccount } from '../accounts/accounts.store.js';
import type { CustomerRow } from '../customers/customers.store.js';
import { findCustomer } from '../customers/customers.store.js';
import type { Db } from '../db/index.js';
import type { Database, Mode } from '../db/schema.js';
import { newId } from '../ids.js';
import * as store from './portal.store.js';
import { hashToken, newToken, TOKEN_SHAPE } from './secrets.js';
import { browserAlive, nowSeconds } from './sessions.service.js';

/** A browser session's last request is written at most this often (idle expiry is to the minute). */
const TOUCH_SECONDS = 60;

/** Who a signed-in browser is: one customer of one account and mode, and nothing else. */
export interface Signed {
  session: store.SessionRow;
  customer: CustomerRow;
  merchant: string;
}

export const loginPath = (accountId: string, mode: Mode) =>
  `/portal/${accountId}${mode === 'test' ? '/test' : ''}/login`;

/** The merchant link, opened: once, before it expires, it starts a browser session. */
export async function openMerchantLink(
  db: Db,
  token: string,
): Promise<{ kind: 'signed'; sid: string } | { kind: 'gone'; login: string } | { kind: 'unknown' }> {
  if (!TOKEN_SHAPE.test(token)) return { kind: 'unknown' };
  const row = await store.findSessionBy(db.reader, 'token_hash', hashToken(token));
  if (!row) return { kind: 'unknown' };
  const now = nowSeconds();
  const gone = { kind: 'gone', login: loginPath(row.account_id, row.mode) } as const;
  if (row.revoked_at !== null || row.opened_at !== null || now >= row.expires_at) return gone;
  const sid = newToken();
  const opened = await db.write((trx) =>
    store.updateSession(
      trx,
      row.id,
      { opened_at: now, last_active_at: now, browser_hash: hashToken(sid) },
      'opened_at',
    ),
  );
  return opened ? { kind: 'signed', sid } : gone;
}

/** A new browser session for a customer who proved their address; its id goes in the cookie. */
export async function startLoginSession(
  trx: Transaction<Database>,
  owner: store.Owner,
  customerId: string,
  now: number,
): Promise<string> {
  const sid = newToken();
  await store.insertSession(trx, {
    id: newId('ps'),
    account_id: owner.accountId,
    mode: owner.mode,
    customer_id: customerId,
    source: 'login',
    return_url: null,
    token_hash: null,
    browser_hash: hashToken(sid),
    created: now,
    expires_at: now,
    opened_at: now,
    last_active_at: now,
    ended_at: null,
    revoked_at: null,
  });
  return sid;
}

/**
 * The browser session a cookie names, while alive, with its customer as stored now. Undefined
 * for an unknown, revoked, signed-out, idle or too old session, or one whose customer is gone.
 * `ended` says where to sign in again when the session was known.
 */
export async function resolveBrowser(
  db: Db,
  sid: string | undefined,
): Promise<{ signed?: Signed; login?: string }> {
  if (sid === undefined || !TOKEN_SHAPE.test(sid)) return {};
  const row = await store.findSessionBy(db.reader, 'browser_hash', hashToken(sid));
  if (!row) return {};
  const login = loginPath(row.account_id, row.mode);
  const now = nowSeconds();
  if (!browserAlive(row, now)) return { login };
  const owner = { accountId: row.account_id, mode: row.mode };
  const [customer, account] = await Promise.all([
    findCustomer(db.reader, owner, row.customer_id),
    findAccount(db.reader, row.account_id),
  ]);
  if (!customer || !account) return { login };
  if (now - (row.last_active_at ?? 0) >= TOUCH_SECONDS) {
    await db.write((trx) => store.updateSession(trx, row.id, { last_active_at: now }));
  }
  return { signed: { session: { ...row, last_active_at: now }, customer, merchant: account.name } };
}

/** A new id for a live session (after an email change): the old cookie stops working. */
export async function rotate(trx: Transaction<Database>, sessionId: string): Promise<string> {
  const sid = newToken();
  await store.updateSession(trx, sessionId, { browser_hash: hashToken(sid) });
  return sid;
}

export async function signOut(db: Db, signed: Signed): Promise<void> {
  await db.write((trx) =>
    store.updateSession(trx, signed.session.id, { ended_at: nowSeconds(), browser_hash: null }),
  );
}

/** Every portal session of the customer is revoked, this one included. */
export async function signOutEverywhere(db: Db, signed: Signed): Promise<void> {
  const owner = { accountId: signed.session.account_id, mode: signed.session.mode };
  await db.write((trx) => store.revokeSessionsOf(trx, owner, signed.customer.id, nowSeconds()));
}

export async function merchantName(db: Db, accountId: string): Promise<string | undefined> {
  return (await findAccount(db.reader, accountId))?.name;
}
