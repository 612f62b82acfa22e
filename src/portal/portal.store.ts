import type { Kysely, Selectable, Transaction, Updateable } from 'kysely';
import type { KeysetPage } from '../db/keyset.js';
import { keysetPage } from '../db/keyset.js';
import type { Database, Mode, PortalSessionsTable, PortalSignInsTable } from '../db/schema.js';

// SQL only: the portal's sessions and its sign-ins by mail. Every query that names an object a
// caller chose is scoped to one account and mode.

type Q = Kysely<Database> | Transaction<Database>;
export type SessionRow = Selectable<PortalSessionsTable>;
export type SignInRow = Selectable<PortalSignInsTable>;
export type NewSignIn = Omit<PortalSignInsTable, 'failed_codes'>;
export interface Owner {
  accountId: string;
  mode: Mode;
}

export async function insertSession(db: Q, row: SessionRow): Promise<void> {
  await db.insertInto('portal_sessions').values(row).execute();
}

export async function findSession(db: Q, owner: Owner, id: string): Promise<SessionRow | undefined> {
  return db
    .selectFrom('portal_sessions')
    .selectAll()
    .where('id', '=', id)
    .where('account_id', '=', owner.accountId)
    .where('mode', '=', owner.mode)
    .executeTakeFirst();
}

export async function findSessionBy(
  db: Q,
  column: 'token_hash' | 'browser_hash',
  hash: string,
): Promise<SessionRow | undefined> {
  return db.selectFrom('portal_sessions').selectAll().where(column, '=', hash).executeTakeFirst();
}

export async function listSessions(
  db: Q,
  owner: Owner,
  customerId: string,
  page: KeysetPage,
): Promise<SessionRow[]> {
  return db
    .selectFrom('portal_sessions')
    .selectAll()
    .where('account_id', '=', owner.accountId)
    .where('mode', '=', owner.mode)
    .where('customer_id', '=', customerId)
    .$call(keysetPage(page))
    .execute();
}

/**
 * Changes one session if it is still as `guard` says (a column still null): false when another
 * request got there first.
 */
export async function updateSession(
  db: Q,
  id: string,
  changes: Updateable<PortalSessionsTable>,
  guard?: 'opened_at' | 'revoked_at',
): Promise<boolean> {
  let query = db.updateTable('portal_sessions').set(changes).where('id', '=', id);
  if (guard) query = query.where(guard, 'is', null);
  const result = await query.executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Revokes every session of a customer that is not revoked already. */
export async function revokeSessionsOf(db: Q, owner: Owner, customerId: string, at: number): Promise<void> {
  await db
    .updateTable('portal_sessions')
    .set({ revoked_at: at, browser_hash: null })
    .where('account_id', '=', owner.accountId)
    .where('mode', '=', owner.mode)
    .where('customer_id', '=', customerId)
    .where('revoked_at', 'is', null)
    .execute();
}

export async function deleteSessionsOf(db: Q, customerId: string): Promise<void> {
  await db.deleteFrom('portal_sessions').where('customer_id', '=', customerId).execute();
}

export async function insertSignIn(db: Q, row: NewSignIn): Promise<void> {
  await db.insertInto('portal_sign_ins').values(row).execute();
}

/** Sign-ins since `since` of one address (mailed ones only) or of one client (all). */
export async function countSignIns(
  db: Q,
  by: 'address' | 'client',
  hash: string,
  since: number,
): Promise<number> {
  let query = db
    .selectFrom('portal_sign_ins')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where(by === 'address' ? 'address_hash' : 'client_hash', '=', hash)
    .where('created', '>=', since);
  if (by === 'address') query = query.where('mailed', '=', 1);
  const row = await query.executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function findSignIn(db: Q, id: string): Promise<SignInRow | undefined> {
  return db.selectFrom('portal_sign_ins').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findSignInByToken(db: Q, tokenHash: string): Promise<SignInRow | undefined> {
  return db.selectFrom('portal_sign_ins').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
}

/** The newest sign-in of one purpose that this browser asked for. */
export async function latestSignInOf(
  db: Q,
  deviceHash: string,
  purpose: SignInRow['purpose'],
): Promise<SignInRow | undefined> {
  return db
    .selectFrom('portal_sign_ins')
    .selectAll()
    .where('device_hash', '=', deviceHash)
    .where('purpose', '=', purpose)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
}

/** Changes a sign-in that is still pending (neither used nor voided): false when it is not. */
export async function updatePendingSignIn(
  db: Q,
  id: string,
  changes: Updateable<PortalSignInsTable>,
): Promise<boolean> {
  const result = await db
    .updateTable('portal_sign_ins')
    .set(changes)
    .where('id', '=', id)
    .where('used_at', 'is', null)
    .where('voided_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function updateSignIn(
  db: Q,
  id: string,
  changes: Updateable<PortalSignInsTable>,
): Promise<void> {
  await db.updateTable('portal_sign_ins').set(changes).where('id', '=', id).execute();
}

/** A wrong code: one more failure, and void once there have been `max`. */
export async function countWrongCode(db: Q, id: string, max: number, at: number): Promise<void> {
  await db
    .updateTable('portal_sign_ins')
    .set((eb) => ({ failed_codes: eb('failed_codes', '+', 1) }))
    .where('id', '=', id)
    .execute();
  await db
    .updateTable('portal_sign_ins')
    .set({ voided_at: at })
    .where('id', '=', id)
    .where('failed_codes', '>=', max)
    .where('voided_at', 'is', null)
    .execute();
}

/** A deleted customer's pending email changes go with it (they hold its new address). */
export async function deleteEmailChangesOf(db: Q, customerId: string): Promise<void> {
  await db
    .deleteFrom('portal_sign_ins')
    .where('purpose', '=', 'email_change')
    .where('customer_ids', '=', JSON.stringify([customerId]))
    .execute();
}

export async function findSignInByChoice(db: Q, choiceHash: string): Promise<SignInRow | undefined> {
  return db
    .selectFrom('portal_sign_ins')
    .selectAll()
    .where('choice_hash', '=', choiceHash)
    .executeTakeFirst();
}

/** Uses up a chooser, if it is still the one given: false when another request took it. */
export async function takeChoice(db: Q, id: string, choiceHash: string): Promise<boolean> {
  const result = await db
    .updateTable('portal_sign_ins')
    .set({ choice_hash: null })
    .where('id', '=', id)
    .where('choice_hash', '=', choiceHash)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}
