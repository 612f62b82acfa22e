import { createHash, randomBytes } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { AuthContext } from '../accounts/keys.js';
import type { Db } from '../db/index.js';
import type { Database } from '../db/schema.js';
import type { BeforeCommit } from '../db/write-hooks.js';
import { AppError } from '../errors.js';
import type { KeyRef } from './idempotency.store.js';
import * as store from './idempotency.store.js';

/**
 * A write sent with an `Idempotency-Key` takes effect once, however often it is retried. The
 * first request inserts an in-flight record holding a lease; its response is stored in the same
 * transaction as its effect, under a compare-and-set on the lease token, so an execution that
 * lost its lease (it ran past the expiry and a retry took over) rolls back instead of
 * committing a second effect. Leases use this process's clock; processes sharing a database
 * are assumed to agree on the time to well within a lease.
 */

export interface IdempotencyDeps {
  db: Db;
  /** How long an execution holds its key before a retry may take it over. */
  leaseMs: number;
}

export interface IdempotentRequest {
  auth: Pick<AuthContext, 'accountId' | 'mode'>;
  key: string;
  method: string;
  /** The path as routed, the customer id included. */
  path: string;
  /** The parsed, validated parameters. */
  params: unknown;
}

/** The right to execute a request and record its response, while the token still matches. */
export interface Lease {
  readonly ref: KeyRef;
  readonly token: string;
}

export type Claim = { kind: 'execute'; lease: Lease } | { kind: 'replay'; status: number; body: string };

export const KEY_HEADER = 'Idempotency-Key';
/** 1–255 printable ASCII characters. */
export const KEY_PATTERN = '^[\\x20-\\x7E]{1,255}$';
const KEY_REGEX = new RegExp(KEY_PATTERN);

/** The key a request sent, undefined when it sent none; a malformed key is a 400. */
export function parseKey(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  const key = Array.isArray(header) ? header.join(', ') : header;
  if (!KEY_REGEX.test(key)) {
    throw new AppError(
      'parameter_invalid',
      `Invalid ${KEY_HEADER}: it must be 1 to 255 printable ASCII characters.`,
      KEY_HEADER,
    );
  }
  return key;
}

/**
 * JSON with object keys sorted at every level, so parameters compare by value: the order of the
 * fields, and whether they came as JSON or as a form, make no difference.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object)
    .filter((k) => object[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(object[k])}`).join(',')}}`;
}

/** Only a hash is kept: the parameters themselves hold personal data. */
export function paramsHash(params: unknown): string {
  return createHash('sha256').update(canonicalJson(params)).digest('hex');
}

const newToken = () => randomBytes(16).toString('hex');
const nowSeconds = () => Math.floor(Date.now() / 1000);

function reused(key: string): AppError {
  return new AppError(
    'idempotency_key_reused',
    `Idempotency key '${key}' was already used for a different request; use a new key for a new request.`,
  );
}

/** Retry-After: the first execution usually finishes within milliseconds; a second is plenty. */
function inUse(key: string): AppError {
  return new AppError(
    'idempotency_key_in_use',
    `Another request with idempotency key '${key}' is still being processed; retry it shortly.`,
    undefined,
    { 'Retry-After': '1' },
  );
}

function sameRequest(row: store.IdempotencyRow, request: IdempotentRequest, hash: string): boolean {
  // An erased record no longer knows its parameters; method and path still have to match.
  return (
    row.method === request.method &&
    row.path === request.path &&
    (row.params_hash === null || row.params_hash === hash)
  );
}

/**
 * Decides what a request with a key does: execute it (holding a fresh lease), replay the stored
 * response, or fail with a mismatch (400) or an execution still in flight (409). Every step is
 * a single atomic statement, so concurrent requests in any number of processes agree.
 */
export async function claim(deps: IdempotencyDeps, request: IdempotentRequest): Promise<Claim> {
  const ref: KeyRef = { accountId: request.auth.accountId, mode: request.auth.mode, key: request.key };
  const hash = paramsHash(request.params);
  // A record can vanish between two statements (released by a failed execution, or pruned);
  // then the insert is simply tried again.
  for (let attempt = 0; attempt < 5; attempt++) {
    const token = newToken();
    // Through the write path: the claim shares a commit with writes arriving with it, and the
    // claims of a batch share one insert.
    const record: store.NewInFlight = {
      account_id: ref.accountId,
      mode: ref.mode,
      key: ref.key,
      method: request.method,
      path: request.path,
      params_hash: hash,
      lease_token: token,
      lease_expires_ms: Date.now() + deps.leaseMs,
      created: nowSeconds(),
    };
    const inserted = await deps.db.write(async (trx) => store.claimedIn(trx, token), {
      coalesce: [{ coalescer: store.inFlightInserts, value: record }],
    });
    if (inserted) return { kind: 'execute', lease: { ref, token } };

    const row = await store.findRecord(deps.db.reader, ref);
    if (!row) continue;
    if (!sameRequest(row, request, hash)) throw reused(request.key);
    if (row.state === 'done') {
      return { kind: 'replay', status: row.status ?? 500, body: row.body ?? '' };
    }
    if ((row.lease_expires_ms ?? 0) > Date.now() || row.lease_token === null) throw inUse(request.key);
    // The execution holding it died or overran: take the lease over, unless another retry did.
    const expired = row.lease_token;
    const taken = await deps.db.write((trx) =>
      store.swapLease(trx, ref, expired, { token, expiresMs: Date.now() + deps.leaseMs }),
    );
    if (taken) return { kind: 'execute', lease: { ref, token } };
  }
  throw inUse(request.key);
}

/**
 * The object a response body shows in full (`{ object, id, … }`), whose data the stored body
 * then holds; a deletion receipt (`deleted: true`) and a list show none.
 */
function objectIdOf(body: unknown): string | null {
  if (typeof body !== 'object' || body === null) return null;
  const b = body as { object?: unknown; id?: unknown; deleted?: unknown };
  return typeof b.object === 'string' && b.deleted !== true && typeof b.id === 'string' ? b.id : null;
}

/**
 * The write's `beforeCommit`: stores the response inside the write's transaction, only if the
 * lease is still ours. Otherwise it throws, the write rolls back, and the execution that took
 * the lease over is the one whose effect counts.
 */
export function recordResponse(
  lease: Lease,
  serialize: (status: number, body: unknown) => string,
): BeforeCommit {
  return async (trx, response) => {
    const stored = await store.complete(trx, lease.ref, lease.token, {
      status: response.status,
      body: serialize(response.status, response.body),
      objectId: objectIdOf(response.body),
    });
    if (!stored) throw inUse(lease.ref.key);
  };
}

/**
 * Frees a key whose execution ended without a stored response (an error), so a retry can run
 * it. A no-op when the lease was lost or the response was stored.
 */
export async function release(deps: IdempotencyDeps, lease: Lease): Promise<void> {
  await deps.db.write((trx) => store.release(trx, lease.ref, lease.token));
}

/**
 * For a write that deletes an object: every stored response that showed it becomes `replacement`
 * (the error the object now gets), in the delete's transaction. Its data is gone from the table,
 * and a replay does nothing but answer that error.
 */
export async function eraseResponsesShowing(
  trx: Transaction<Database>,
  owner: Pick<AuthContext, 'accountId' | 'mode'>,
  objectId: string,
  replacement: AppError,
): Promise<void> {
  await store.eraseObject(trx, owner, objectId, {
    status: replacement.status,
    body: JSON.stringify(replacement.toBody()),
  });
}

const PRUNE_BATCH = 1000;

/** Deletes the records at least `retentionHours` old, in batches; returns how many. */
export async function prune(db: Db, retentionHours: number, nowMs = Date.now()): Promise<number> {
  const cutoff = Math.floor(nowMs / 1000) - retentionHours * 3600;
  let total = 0;
  for (;;) {
    const deleted = await store.prune(db.kysely, cutoff, nowMs, PRUNE_BATCH);
    total += deleted;
    if (deleted < PRUNE_BATCH) return total;
  }
}
