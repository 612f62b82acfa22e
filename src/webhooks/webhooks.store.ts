import { type Kysely, sql, type Transaction } from 'kysely';
import { type KeysetPage, keysetPage } from '../db/keyset.js';
import type { Database, WebhookEndpointSecretsTable, WebhookEndpointsTable } from '../db/schema.js';

type Q = Kysely<Database> | Transaction<Database>;
export type EndpointRow = WebhookEndpointsTable;
export type SecretRow = WebhookEndpointSecretsTable;

/** Who owns a row: every query below is scoped by both, so tenants and modes never meet. */
export interface Owner {
  accountId: string;
  mode: 'test' | 'live';
}

/** `lock` takes a row lock until the transaction ends (PostgreSQL; SQLite transactions are serial). */
export async function findEndpoint(
  db: Q,
  owner: Owner,
  id: string,
  lock = false,
): Promise<EndpointRow | undefined> {
  const query = db
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('id', '=', id)
    .where('account_id', '=', owner.accountId)
    .where('mode', '=', owner.mode);
  return (lock ? query.forUpdate() : query).executeTakeFirst();
}

/** The mode an endpoint id lives in within one account, to say so in a 404 for the other mode. */
export async function findEndpointMode(
  db: Q,
  accountId: string,
  id: string,
): Promise<Owner['mode'] | undefined> {
  const row = await db
    .selectFrom('webhook_endpoints')
    .select('mode')
    .where('id', '=', id)
    .where('account_id', '=', accountId)
    .executeTakeFirst();
  return row?.mode;
}

/**
 * Serialises the endpoint writes of one account until the transaction ends (PostgreSQL), so a
 * count followed by an insert cannot be raced past the limit. `for no key update` does not
 * conflict with the key-share locks that inserts referencing the account take, so customers and
 * other writes of the account carry on meanwhile. SQLite runs one write transaction at a time.
 */
export async function lockAccountEndpoints(db: Transaction<Database>, accountId: string): Promise<void> {
  await sql`select id from accounts where id = ${accountId} for no key update`.execute(db);
}

export async function countEndpoints(db: Q, owner: Owner): Promise<number> {
  const row = await db
    .selectFrom('webhook_endpoints')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('account_id', '=', owner.accountId)
    .where('mode', '=', owner.mode)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function insertEndpoint(db: Q, row: EndpointRow): Promise<void> {
  await db.insertInto('webhook_endpoints').values(row).execute();
}

export type EndpointChanges = Partial<
  Pick<
    EndpointRow,
    'url' | 'enabled_events' | 'description' | 'metadata' | 'status' | 'updated' | 'failing_since'
  >
>;

export async function updateEndpoint(
  db: Q,
  owner: Owner,
  id: string,
  changes: EndpointChanges,
): Promise<void> {
  await db
    .updateTable('webhook_endpoints')
    .set(changes)
    .where('id', '=', id)
    .where('account_id', '=', owner.accountId)
    .where('mode', '=', owner.mode)
    .execute();
}

/** The endpoint and its secrets. */
export async function deleteEndpoint(db: Q, owner: Owner, id: string): Promise<void> {
  await db.deleteFrom('webhook_endpoint_secrets').where('endpoint_id', '=', id).execute();
  await db
    .deleteFrom('webhook_endpoints')
    .where('id', '=', id)
    .where('account_id', '=', owner.accountId)
    .where('mode', '=', owner.mode)
    .execute();
}

/** One page by keyset on the primary key, as the customer list (db/keyset.ts). */
export async function listEndpoints(db: Q, owner: Owner, page: KeysetPage): Promise<EndpointRow[]> {
  return db
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('account_id', '=', owner.accountId)
    .where('mode', '=', owner.mode)
    .$call(keysetPage(page))
    .execute();
}

/** Every enabled endpoint of one account and mode, oldest first. */
export async function listEnabledEndpoints(db: Q, owner: Owner): Promise<EndpointRow[]> {
  return db
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('account_id', '=', owner.accountId)
    .where('mode', '=', owner.mode)
    .where('status', '=', 'enabled')
    .orderBy('id')
    .execute();
}

export async function insertSecret(db: Q, row: SecretRow): Promise<void> {
  await db.insertInto('webhook_endpoint_secrets').values(row).execute();
}

/** The secrets that still sign at `nowMs`, newest first. */
export async function activeSecrets(db: Q, endpointId: string, nowMs: number): Promise<SecretRow[]> {
  return db
    .selectFrom('webhook_endpoint_secrets')
    .selectAll()
    .where('endpoint_id', '=', endpointId)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', nowMs)]))
    .orderBy('id', 'desc')
    .execute();
}

/**
 * A roll's bookkeeping: every secret that would sign past `expiresAt` now stops then (the
 * current one included), and those already expired are deleted.
 */
export async function expireSecrets(
  db: Q,
  endpointId: string,
  expiresAt: number,
  nowMs: number,
): Promise<void> {
  await db
    .updateTable('webhook_endpoint_secrets')
    .set({ expires_at: expiresAt })
    .where('endpoint_id', '=', endpointId)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', expiresAt)]))
    .execute();
  await db
    .deleteFrom('webhook_endpoint_secrets')
    .where('endpoint_id', '=', endpointId)
    .where('expires_at', '<=', nowMs)
    .execute();
}
