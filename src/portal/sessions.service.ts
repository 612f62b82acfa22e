import type { Transaction } from 'kysely';
import type { AuthContext } from '../accounts/keys.js';
import { findCustomer, findCustomerMode } from '../customers/customers.store.js';
import type { Db } from '../db/index.js';
import type { Database } from '../db/schema.js';
import type { BeforeCommit } from '../db/write-hooks.js';
import { AppError } from '../errors.js';
import { pageOf, shown } from '../http/pagination.js';
import { isId, newId } from '../ids.js';
import type { SecretBox } from '../secret-key.js';
import * as store from './portal.store.js';
import {
  type CreatePortalSessionBody,
  EXPIRES_IN,
  type ListPortalSessionsQuery,
  type PortalSession,
  type PortalSessionList,
  type PortalSessionWithUrl,
} from './portal-sessions.schema.js';
import { hashToken, newToken } from './secrets.js';

export interface PortalDeps {
  db: Db;
  /** LUNIPAY_PUBLIC_URL: every link is built from it */
  publicUrl: string;
  secretBox: SecretBox;
}

/** A browser session ends after this long without a request… */
export const IDLE_SECONDS = 30 * 60;
/** …and this long after it started, at the latest. */
export const MAX_SECONDS = 12 * 60 * 60;

export const nowSeconds = () => Math.floor(Date.now() / 1000);
const owner = (auth: AuthContext): store.Owner => ({ accountId: auth.accountId, mode: auth.mode });

/** Whether a browser session that was started is still alive at `now`. */
export function browserAlive(row: store.SessionRow, now: number): boolean {
  if (row.revoked_at !== null || row.ended_at !== null || row.browser_hash === null) return false;
  if (row.opened_at === null || row.last_active_at === null) return false;
  return now - row.last_active_at < IDLE_SECONDS && now - row.opened_at < MAX_SECONDS;
}

export function sessionStatus(row: store.SessionRow, now: number): PortalSession['status'] {
  if (row.revoked_at !== null) return 'revoked';
  if (row.opened_at === null) return now >= row.expires_at ? 'expired' : 'open';
  return browserAlive(row, now) ? 'active' : 'expired';
}

/** The one place a stored row becomes the API's portal session. */
export function toPortalSession(row: store.SessionRow, now = nowSeconds()): PortalSession {
  return {
    id: row.id,
    object: 'portal_session',
    customer: row.customer_id,
    livemode: row.mode === 'live',
    source: row.source,
    return_url: row.return_url,
    status: sessionStatus(row, now),
    created: row.created,
    expires_at: row.expires_at,
    opened_at: row.opened_at,
    last_active_at: row.last_active_at,
  };
}

export function notFound(id: string): AppError {
  return new AppError('resource_missing', `No such portal session: '${id}'.`, 'id');
}

/** `http` or `https` (only `https` in live mode), with a host and no user name or password. */
function checkReturnUrl(raw: string, mode: AuthContext['mode']): void {
  const url = URL.canParse(raw) ? new URL(raw) : undefined;
  const why = !url
    ? 'is not a URL'
    : !/^https?:$/.test(url.protocol) || url.hostname === ''
      ? 'must be an http or https URL'
      : url.username !== '' || url.password !== ''
        ? 'must not hold a user name or password'
        : mode === 'live' && url.protocol !== 'https:'
          ? 'must be https in live mode'
          : undefined;
  if (why) throw new AppError('parameter_invalid', `Invalid return_url: it ${why}.`, 'return_url');
}

/** The stored idempotent answer holds the URL sealed, so the database keeps no usable token. */
const REPLAY_PREFIX = 'ps_url_sealed:';
const replayContext = (id: string) => `portal_session_replay:${id}`;

export function openReplay(box: SecretBox, payload: string): string {
  let body: { id?: unknown; url?: unknown };
  try {
    body = JSON.parse(payload);
  } catch {
    return payload;
  }
  if (typeof body.url !== 'string' || !body.url.startsWith(REPLAY_PREFIX) || typeof body.id !== 'string') {
    return payload;
  }
  const opened = box.open(body.url.slice(REPLAY_PREFIX.length), replayContext(body.id));
  return payload.replace(JSON.stringify(body.url), JSON.stringify(opened));
}

export async function createPortalSession(
  deps: PortalDeps,
  auth: AuthContext,
  body: CreatePortalSessionBody,
  beforeCommit?: BeforeCommit,
): Promise<PortalSessionWithUrl> {
  if (body.return_url !== undefined) checkReturnUrl(body.return_url, auth.mode);
  const now = nowSeconds();
  const token = newToken();
  const row: store.SessionRow = {
    id: newId('ps'),
    account_id: auth.accountId,
    mode: auth.mode,
    customer_id: body.customer,
    source: 'api',
    return_url: body.return_url ?? null,
    token_hash: hashToken(token),
    browser_hash: null,
    created: now,
    expires_at: now + (body.expires_in ?? EXPIRES_IN.default),
    opened_at: null,
    last_active_at: null,
    ended_at: null,
    revoked_at: null,
  };
  const url = `${deps.publicUrl}/portal/session/${token}`;
  const session = { ...toPortalSession(row, now), url };
  const found = await deps.db.write(async (trx) => {
    const customer = isId('cus', body.customer)
      ? await findCustomer(trx, owner(auth), body.customer, deps.db.locksRows)
      : undefined;
    if (!customer) return false;
    await store.insertSession(trx, row);
    const sealed = REPLAY_PREFIX + deps.secretBox.seal(url, replayContext(row.id));
    await beforeCommit?.(trx, { status: 200, body: { ...session, url: sealed } });
    return true;
  });
  if (!found) throw await missingCustomer(deps.db, auth, body.customer);
  return session;
}

async function missingCustomer(db: Db, auth: AuthContext, id: string): Promise<AppError> {
  const mode = isId('cus', id) ? await findCustomerMode(db.reader, auth.accountId, id) : undefined;
  const suffix =
    mode !== undefined && mode !== auth.mode
      ? `; a similar object exists in ${mode} mode, but a ${auth.mode} mode key was used to make this request`
      : '';
  return new AppError('resource_missing', `No such customer: '${id}'${suffix}.`, 'customer');
}

export async function retrievePortalSession(
  deps: PortalDeps,
  auth: AuthContext,
  id: string,
): Promise<PortalSession> {
  const row = isId('ps', id) ? await store.findSession(deps.db.reader, owner(auth), id) : undefined;
  if (!row) throw notFound(id);
  return toPortalSession(row);
}

export async function listPortalSessions(
  deps: PortalDeps,
  auth: AuthContext,
  query: ListPortalSessionsQuery,
): Promise<PortalSessionList> {
  const page = pageOf(query, 'ps', 'a portal session id');
  const customer = isId('cus', query.customer)
    ? await findCustomer(deps.db.reader, owner(auth), query.customer)
    : undefined;
  if (!customer) throw await missingCustomer(deps.db, auth, query.customer);
  const rows = await store.listSessions(deps.db.reader, owner(auth), customer.id, page);
  const { rows: shownRows, has_more } = shown(rows, page);
  const now = nowSeconds();
  return {
    object: 'list',
    url: '/v1/portal_sessions',
    has_more,
    data: shownRows.map((r) => toPortalSession(r, now)),
  };
}

/** Revoked at once: the browser session it started ends at its next request. Revoking twice is fine. */
export async function revokePortalSession(
  deps: PortalDeps,
  auth: AuthContext,
  id: string,
  beforeCommit?: BeforeCommit,
): Promise<PortalSession> {
  if (!isId('ps', id)) throw notFound(id);
  const session = await deps.db.write(async (trx: Transaction<Database>) => {
    const row = await store.findSession(trx, owner(auth), id);
    if (!row) return undefined;
    const now = nowSeconds();
    const revoked = row.revoked_at === null ? { ...row, revoked_at: now, browser_hash: null } : row;
    if (row.revoked_at === null) {
      await store.updateSession(trx, id, { revoked_at: now, browser_hash: null }, 'revoked_at');
    }
    const result = toPortalSession(revoked, now);
    await beforeCommit?.(trx, { status: 200, body: result });
    return result;
  });
  if (!session) throw notFound(id);
  return session;
}
