import { timingSafeEqual } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { hashSecret } from '../accounts/keys.js';
import type { CustomerRow } from '../customers/customers.store.js';
import { findCustomer, listCustomers } from '../customers/customers.store.js';
import type { Db } from '../db/index.js';
import type { Database } from '../db/schema.js';
import { newId } from '../ids.js';
import { insertJob } from '../jobs/jobs.store.js';
import { mailJob } from '../mail/mail.job.js';
import { startLoginSession } from './browser.service.js';
import * as store from './portal.store.js';
import { hashCode, hashToken, newToken, TOKEN_SHAPE } from './secrets.js';
import { nowSeconds } from './sessions.service.js';

/** A link and its code work this long, once. */
export const SIGN_IN_SECONDS = 15 * 60;
/** The limits, per 15 minutes: mails to one address, and sign-in requests from one client. */
export const LIMITS = { windowSeconds: 15 * 60, mailsPerAddress: 5, requestsPerClient: 20 };
/** Wrong codes that void a sign-in. */
export const CODE_TRIES = 5;
/** At most this many customers sharing one address are offered. */
const MAX_CHOICES = 20;

export const SIGN_IN_MAIL = 'sign_in';
export const CONFIRM_MAIL = 'email_confirm';
export const CHANGED_MAIL = 'email_changed';

export const addressHash = (owner: store.Owner, email: string) =>
  hashSecret(`address:${owner.accountId}:${owner.mode}:${email.toLowerCase()}`);
export const clientHash = (ip: string) => hashSecret(`client:${ip}`);

type Q = Kysely<Database> | Transaction<Database>;

export interface SignInRequest {
  owner: store.Owner;
  email: string;
  clientIp: string;
  /** the value of the browser's device cookie: the code works only where it was asked for */
  device: string;
  purpose: 'login' | 'email_change';
  /** for an email change: the session asking and its customer */
  change?: { sessionId: string; customerId: string };
}

/**
 * Records a request for a link and a code, and queues its mail in the same transaction. The
 * statements are the same whether or not any customer has the address (no enumeration by
 * timing): the mail job looks again when it runs, and sends nothing when none does. Beyond a
 * limit, the request is recorded (it counts) and no mail is queued.
 */
export async function requestSignIn(db: Db, req: SignInRequest): Promise<void> {
  const now = nowSeconds();
  const since = now - LIMITS.windowSeconds;
  const address = addressHash(req.owner, req.email);
  const client = clientHash(req.clientIp);
  await db.write(async (trx) => {
    const sent = await store.countSignIns(trx, 'address', address, since);
    const asked = await store.countSignIns(trx, 'client', client, since);
    const ids = req.change
      ? [req.change.customerId]
      : (
          await listCustomers(
            trx,
            req.owner,
            { limit: MAX_CHOICES - 1, direction: 'older' },
            { emailLower: req.email.toLowerCase() },
          )
        ).map((c) => c.id);
    const mailed = sent < LIMITS.mailsPerAddress && asked < LIMITS.requestsPerClient;
    const id = newId('psi');
    await store.insertSignIn(trx, {
      id,
      account_id: req.owner.accountId,
      mode: req.owner.mode,
      purpose: req.purpose,
      address_hash: address,
      client_hash: client,
      device_hash: hashToken(req.device),
      customer_ids: JSON.stringify(ids),
      session_id: req.change?.sessionId ?? null,
      new_email: req.change ? req.email : null,
      old_email: null,
      mailed: mailed ? 1 : 0,
      token_hash: null,
      code_hash: null,
      choice_hash: null,
      created: now,
      expires_at: now + SIGN_IN_SECONDS,
      used_at: null,
      voided_at: null,
    });
    const kind = req.purpose === 'login' ? SIGN_IN_MAIL : CONFIRM_MAIL;
    if (mailed) await insertJob(trx, mailJob(kind, id, req.owner, Date.now()));
  });
}

export const isPending = (row: store.SignInRow, now: number) =>
  row.used_at === null && row.voided_at === null && now < row.expires_at;

/** The customers a sign-in may sign in now: those named when it was asked that still have the address. */
export async function candidatesOf(db: Q, row: store.SignInRow): Promise<CustomerRow[]> {
  const owner = { accountId: row.account_id, mode: row.mode };
  const found: CustomerRow[] = [];
  for (const id of JSON.parse(row.customer_ids) as string[]) {
    const customer = await findCustomer(db, owner, id);
    if (
      customer &&
      (row.purpose === 'email_change' || addressHash(owner, customer.email) === row.address_hash)
    ) {
      found.push(customer);
    }
  }
  return found;
}

export type Consumed =
  | { kind: 'signed'; sid: string }
  | { kind: 'choose'; choice: string }
  | { kind: 'gone' };

/** Uses a pending sign-in by email: one customer signs in; several are offered to choose from. */
export async function consumeLogin(db: Db, row: store.SignInRow): Promise<Consumed> {
  const now = nowSeconds();
  if (!isPending(row, now)) return { kind: 'gone' };
  const owner = { accountId: row.account_id, mode: row.mode };
  return db.write(async (trx): Promise<Consumed> => {
    if (!(await store.updatePendingSignIn(trx, row.id, { used_at: now }))) return { kind: 'gone' };
    const candidates = await candidatesOf(trx, row);
    const only = candidates[0];
    if (only === undefined) return { kind: 'gone' };
    if (candidates.length === 1)
      return { kind: 'signed', sid: await startLoginSession(trx, owner, only.id, now) };
    const choice = newToken();
    await store.updateSignIn(trx, row.id, { choice_hash: hashToken(choice) });
    return { kind: 'choose', choice };
  });
}

export async function signInByToken(db: Db, token: string): Promise<store.SignInRow | undefined> {
  if (!TOKEN_SHAPE.test(token)) return undefined;
  return store.findSignInByToken(db.reader, hashToken(token));
}

const sameHash = (a: string, b: string) =>
  a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/**
 * A code typed on the device that asked. Right: the sign-in, to consume. Wrong: counted, and the
 * fifth wrong code voids it. An unknown address has a sign-in too, whose code is never right.
 */
export async function checkCode(
  db: Db,
  device: string,
  purpose: store.SignInRow['purpose'],
  owner: store.Owner,
  code: string,
): Promise<store.SignInRow | undefined> {
  const row = await store.latestSignInOf(db.reader, hashToken(device), purpose);
  const now = nowSeconds();
  if (!row || row.account_id !== owner.accountId || row.mode !== owner.mode || !isPending(row, now)) {
    return undefined;
  }
  if (row.code_hash !== null && sameHash(hashCode(row.id, code), row.code_hash)) return row;
  await db.write((trx) => store.countWrongCode(trx, row.id, CODE_TRIES, now));
  return undefined;
}

/** The sign-in whose chooser this browser holds, with the customers it may choose from. */
export async function choiceOf(
  db: Db,
  choice: string | undefined,
): Promise<{ row: store.SignInRow; candidates: CustomerRow[] } | undefined> {
  if (choice === undefined || !TOKEN_SHAPE.test(choice)) return undefined;
  const row = await store.findSignInByChoice(db.reader, hashToken(choice));
  if (!row || row.used_at === null || nowSeconds() - row.used_at >= SIGN_IN_SECONDS) return undefined;
  return { row, candidates: await candidatesOf(db.reader, row) };
}

/** The choice made: the chooser is used up and a browser session starts for that customer. */
export async function choose(db: Db, row: store.SignInRow, customerId: string): Promise<string | undefined> {
  const now = nowSeconds();
  return db.write(async (trx) => {
    const candidates = await candidatesOf(trx, row);
    if (!candidates.some((c) => c.id === customerId)) return undefined;
    if (row.choice_hash === null || !(await store.takeChoice(trx, row.id, row.choice_hash))) return undefined;
    return startLoginSession(trx, { accountId: row.account_id, mode: row.mode }, customerId, now);
  });
}
