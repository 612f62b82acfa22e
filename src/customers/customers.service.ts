import type { Transaction } from 'kysely';
import type { AuthContext } from '../accounts/keys.js';
import type { WriteBatch } from '../db/group-commit.js';
import type { Db } from '../db/index.js';
import type { Database } from '../db/schema.js';
import type { BeforeCommit, CustomerEvent, CustomerWriteHook, Origin } from '../db/write-hooks.js';
import { AppError } from '../errors.js';
import { mergeMetadata, parseMetadata } from '../http/metadata.js';
import { createdRange, pageOf, shown } from '../http/pagination.js';
import { isId, newId } from '../ids.js';
import type {
  CreateCustomerBody,
  Customer,
  DeletedCustomer,
  ListCustomersQuery,
  UpdateCustomerBody,
} from './customers.schema.js';
import type { CustomerRow, Owner } from './customers.store.js';
import * as store from './customers.store.js';

export interface CustomerDeps {
  db: Db;
  /** Called in order, inside every write's transaction, after the customer row is written. */
  hooks?: readonly CustomerWriteHook[];
}

async function runHooks(
  deps: CustomerDeps,
  trx: Transaction<Database>,
  event: CustomerEvent,
  batch?: WriteBatch,
): Promise<void> {
  for (const hook of deps.hooks ?? []) await hook(trx, event, batch);
}

const nowSeconds = () => Math.floor(Date.now() / 1000);
const owner = (auth: AuthContext): Owner => ({ accountId: auth.accountId, mode: auth.mode });

/** The one place a stored row becomes the API's customer object. */
export function toCustomer(row: CustomerRow): Customer {
  return {
    id: row.id,
    object: 'customer',
    livemode: row.mode === 'live',
    email: row.email,
    first_name: row.first_name,
    last_name: row.last_name,
    phone: row.phone,
    company_name: row.company_name,
    notes: row.notes,
    metadata: parseMetadata(row.metadata),
    stripe_customer_id: row.stripe_customer_id,
    created: row.created,
    updated: row.updated,
  };
}

/** An empty string means "nothing": null for the nullable fields. */
const orNull = (value: string | null | undefined): string | null =>
  value === undefined || value === '' ? null : value;

export function notFound(id: string, otherMode?: string): AppError {
  const suffix = otherMode
    ? `; a similar object exists in ${otherMode} mode, but a ${otherMode === 'live' ? 'test' : 'live'} mode key was used to make this request`
    : '';
  return new AppError('resource_missing', `No such customer: '${id}'${suffix}.`, 'id');
}

/** A 404 that says so when the id belongs to the same account's other mode. */
async function missing(deps: CustomerDeps, auth: AuthContext, id: string): Promise<AppError> {
  const mode = isId('cus', id) ? await store.findCustomerMode(deps.db.reader, auth.accountId, id) : undefined;
  return notFound(id, mode !== undefined && mode !== auth.mode ? mode : undefined);
}

export async function createCustomer(
  deps: CustomerDeps,
  auth: AuthContext,
  body: CreateCustomerBody,
  origin: Origin,
  beforeCommit?: BeforeCommit,
  /** a customer imported from Stripe is born linked to the Stripe customer it came from */
  stripeCustomerId: string | null = null,
): Promise<Customer> {
  const now = nowSeconds();
  const row: CustomerRow = {
    id: newId('cus'),
    account_id: auth.accountId,
    mode: auth.mode,
    email: body.email,
    email_lower: body.email.toLowerCase(),
    first_name: body.first_name ?? '',
    last_name: body.last_name ?? '',
    phone: orNull(body.phone),
    company_name: orNull(body.company_name),
    notes: orNull(body.notes),
    metadata: mergeMetadata(null, body.metadata),
    stripe_customer_id: stripeCustomerId,
    created: now,
    updated: now,
    version: 1,
  };
  const customer = toCustomer(row);
  const { version: _, ...values } = row;
  // Creates committed together share one multi-row insert, made before their hooks run.
  await deps.db.write(
    async (trx, batch) => {
      await runHooks(deps, trx, { type: 'created', customer: row, origin }, batch);
      await beforeCommit?.(trx, { status: 200, body: customer });
    },
    { coalesce: [{ coalescer: store.customerInserts, value: values }] },
  );
  return customer;
}

/** The customer as the JSON text of the response, built by the database (store.findCustomerJson). */
export async function retrieveCustomer(deps: CustomerDeps, auth: AuthContext, id: string): Promise<string> {
  const json = isId('cus', id) ? await store.findCustomerJson(deps.db.reader, owner(auth), id) : undefined;
  if (json === undefined) throw await missing(deps, auth, id);
  return json;
}

/** The stored columns a body changes; only fields whose value really differs are included. */
function changesFor(row: CustomerRow, body: UpdateCustomerBody): store.CustomerChanges {
  const next: store.CustomerChanges = {};
  if (body.email !== undefined && body.email !== row.email) {
    next.email = body.email;
    next.email_lower = body.email.toLowerCase();
  }
  if (body.first_name !== undefined && body.first_name !== row.first_name) next.first_name = body.first_name;
  if (body.last_name !== undefined && body.last_name !== row.last_name) next.last_name = body.last_name;
  for (const field of ['phone', 'company_name', 'notes'] as const) {
    if (body[field] !== undefined && orNull(body[field]) !== row[field]) next[field] = orNull(body[field]);
  }
  const metadata = mergeMetadata(parseMetadata(row.metadata), body.metadata);
  if (metadata !== row.metadata) next.metadata = metadata;
  return next;
}

/**
 * Applies any subset of the writable fields. A request that changes nothing (an empty body, or
 * values equal to those stored) leaves the row, `updated` included, as it was.
 */
export async function updateCustomer(
  deps: CustomerDeps,
  auth: AuthContext,
  id: string,
  body: UpdateCustomerBody,
  origin: Origin,
  beforeCommit?: BeforeCommit,
): Promise<Customer> {
  if (!isId('cus', id)) throw await missing(deps, auth, id);
  const result = await deps.db.write(async (trx, batch) => {
    const row = await store.findCustomer(trx, owner(auth), id, deps.db.locksRows);
    if (!row) return undefined;
    const changes = changesFor(row, body);
    let updated = row;
    if (Object.keys(changes).length > 0) {
      changes.updated = nowSeconds();
      updated = { ...row, ...changes, version: row.version + 1 };
      await store.updateCustomer(trx, owner(auth), id, changes, updated, batch);
      await runHooks(deps, trx, { type: 'updated', before: row, customer: updated, origin }, batch);
    }
    const customer = toCustomer(updated);
    await beforeCommit?.(trx, { status: 200, body: customer });
    return customer;
  });
  if (!result) throw await missing(deps, auth, id);
  return result;
}

/** Permanent: the row, and with it every copy of the customer's personal data, is gone. */
export async function deleteCustomer(
  deps: CustomerDeps,
  auth: AuthContext,
  id: string,
  origin: Origin,
  beforeCommit?: BeforeCommit,
): Promise<DeletedCustomer> {
  if (!isId('cus', id)) throw await missing(deps, auth, id);
  const deleted: DeletedCustomer = { id, object: 'customer', deleted: true };
  const found = await deps.db.write(async (trx, batch) => {
    const row = await store.findCustomer(trx, owner(auth), id, deps.db.locksRows);
    if (!row) return false;
    await store.deleteCustomer(trx, owner(auth), id);
    await runHooks(deps, trx, { type: 'deleted', customer: row, origin }, batch);
    await beforeCommit?.(trx, { status: 200, body: deleted });
    return true;
  });
  if (!found) throw await missing(deps, auth, id);
  return deleted;
}

/**
 * One page of the list, as the JSON text of the response: the database builds each customer's
 * JSON (store.listCustomersJson), and the page is joined around them, so a list reads and parses
 * nothing it only passes on.
 */
export async function listCustomers(
  deps: CustomerDeps,
  auth: AuthContext,
  query: ListCustomersQuery,
): Promise<string> {
  const page = pageOf(query, 'cus', 'a customer id');
  const customers = await store.listCustomersJson(deps.db.reader, owner(auth), page, {
    emailLower: query.email?.toLowerCase(),
    created: createdRange(query.created),
  });
  const { rows, has_more } = shown(customers, page);
  return `{"object":"list","url":"/v1/customers","has_more":${has_more},"data":[${rows.join(',')}]}`;
}
