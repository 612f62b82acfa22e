import type { ExpressionBuilder, Kysely, Transaction, Updateable } from 'kysely';
import type { Coalescer } from '../db/index.js';
import type { Database, IdempotencyKeysTable, Mode } from '../db/schema.js';

type Q = Kysely<Database> | Transaction<Database>;
export type IdempotencyRow = IdempotencyKeysTable;

/** A key is one account's, in one mode: the same string is a different key elsewhere. */
export interface KeyRef {
  accountId: string;
  mode: Mode;
  key: string;
}

function byKey(ref: KeyRef) {
  return { account_id: ref.accountId, mode: ref.mode, key: ref.key };
}

export type NewInFlight = Omit<IdempotencyRow, 'state' | 'status' | 'body' | 'customer_id'>;

/** The lease tokens that got their record, by transaction: what `inFlightInserts` leaves for its writes. */
const claimed = new WeakMap<Transaction<Database>, Set<string>>();

/**
 * New in-flight records, of every claim of a group-commit batch in one multi-row insert (one
 * round trip on PostgreSQL, where a statement a claim would be one each). A key that already has
 * a record keeps it untouched; of two claims of one key in the batch, the first gets it. Each
 * claim then asks `claimedIn` whether its own lease token is the one stored.
 */
export const inFlightInserts: Coalescer<NewInFlight> = {
  key: 'idempotency-claims',
  phase: 'before',
  async flush(trx, rows) {
    const seen = new Set<string>();
    const firsts = rows.filter((row) => {
      const k = JSON.stringify([row.account_id, row.mode, row.key]);
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
    const stored = await trx
      .insertInto('idempotency_keys')
      .values(
        firsts.map((row) => ({ ...row, state: 'in_flight', status: null, body: null, customer_id: null })),
      )
      .onConflict((oc) => oc.columns(['account_id', 'mode', 'key']).doNothing())
      .returning('lease_token')
      .execute();
    const tokens = claimed.get(trx) ?? new Set<string>();
    for (const row of stored) if (row.lease_token !== null) tokens.add(row.lease_token);
    claimed.set(trx, tokens);
  },
};

/** Whether the claim holding `token` inserted its record in this transaction (inFlightInserts). */
export const claimedIn = (trx: Transaction<Database>, token: string): boolean =>
  claimed.get(trx)?.has(token) ?? false;

export async function findRecord(db: Q, ref: KeyRef): Promise<IdempotencyRow | undefined> {
  const k = byKey(ref);
  return db
    .selectFrom('idempotency_keys')
    .selectAll()
    .where('account_id', '=', k.account_id)
    .where('mode', '=', k.mode)
    .where('key', '=', k.key)
    .executeTakeFirst();
}

/** The record of `ref` while it is in flight under `token`: all a lease lets its holder change or drop. */
function heldUnder(ref: KeyRef, token: string) {
  return (eb: ExpressionBuilder<Database, 'idempotency_keys'>) =>
    eb.and({ ...byKey(ref), state: 'in_flight', lease_token: token });
}

/**
 * Compare-and-set on the lease: sets `values` only while the record is still in flight under
 * `token`; false otherwise. Every change an execution makes to its record goes through here.
 */
async function setUnderLease(
  db: Q,
  ref: KeyRef,
  token: string,
  values: Updateable<IdempotencyKeysTable>,
): Promise<boolean> {
  const result = await db
    .updateTable('idempotency_keys')
    .set(values)
    .where(heldUnder(ref, token))
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Takes over an expired lease: of two executions racing for it, exactly one wins. */
export function swapLease(
  db: Q,
  ref: KeyRef,
  expected: string,
  lease: { token: string; expiresMs: number },
): Promise<boolean> {
  return setUnderLease(db, ref, expected, { lease_token: lease.token, lease_expires_ms: lease.expiresMs });
}

/** Stores the response, only under the caller's lease; false when the lease was lost. */
export function complete(
  trx: Transaction<Database>,
  ref: KeyRef,
  token: string,
  response: { status: number; body: string; objectId: string | null },
): Promise<boolean> {
  return setUnderLease(trx, ref, token, {
    state: 'done',
    lease_token: null,
    lease_expires_ms: null,
    status: response.status,
    body: response.body,
    customer_id: response.objectId,
  });
}

/** Drops an in-flight record held under `token`; a completed or taken-over one is left alone. */
export async function release(db: Q, ref: KeyRef, token: string): Promise<boolean> {
  const result = await db.deleteFrom('idempotency_keys').where(heldUnder(ref, token)).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/**
 * Replaces every stored response that holds the object with `replacement`, and forgets the
 * parameters' hash (it was computed from the object's data). `customer_id` holds the id of the
 * object a stored body shows, whatever kind it is.
 */
export async function eraseObject(
  trx: Transaction<Database>,
  owner: { accountId: string; mode: Mode },
  objectId: string,
  replacement: { status: number; body: string },
): Promise<number> {
  const result = await trx
    .updateTable('idempotency_keys')
    .set({ status: replacement.status, body: replacement.body, customer_id: null, params_hash: null })
    .where('account_id', '=', owner.accountId)
    .where('mode', '=', owner.mode)
    .where('customer_id', '=', objectId)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/**
 * Deletes up to `limit` records created at or before `cutoff` (unix seconds) that are done or
 * whose lease has run out, so a long-running execution never loses its record. Batches keep each
 * statement, and the locks it takes, short.
 */
export async function prune(db: Q, cutoff: number, nowMs: number, limit: number): Promise<number> {
  const result = await db
    .deleteFrom('idempotency_keys')
    .where(({ eb, refTuple, selectFrom }) =>
      eb(
        refTuple('account_id', 'mode', 'key'),
        'in',
        selectFrom('idempotency_keys')
          .select(['account_id', 'mode', 'key'])
          .where('created', '<=', cutoff)
          .where((w) => w.or([w('state', '=', 'done'), w('lease_expires_ms', '<', nowMs)]))
          .limit(limit)
          .$asTuple('account_id', 'mode', 'key'),
      ),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
