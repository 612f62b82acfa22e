import type { Kysely, Transaction } from 'kysely';
import type { AuthContext } from '../accounts/keys.js';
import type { Db } from '../db/index.js';
import type { Database } from '../db/schema.js';
import type { BeforeCommit } from '../db/write-hooks.js';
import { AppError } from '../errors.js';
import { mergeMetadata, parseMetadata } from '../http/metadata.js';
import { pageOf, shown } from '../http/pagination.js';
import { isId, newId } from '../ids.js';
import type { SecretBox } from '../secret-key.js';
import { cancelQueuedDeliveries } from './deliveries.store.js';
import { urlProblem } from './webhooks.address.js';
import {
  API_VERSION,
  type CreateWebhookEndpointBody,
  type DeletedWebhookEndpoint,
  type EventSelector,
  type ListWebhookEndpointsQuery,
  MAX_ENDPOINTS,
  ROLL_EXPIRES_DEFAULT,
  type RollSecretBody,
  type UpdateWebhookEndpointBody,
  type WebhookEndpoint,
  type WebhookEndpointList,
  type WebhookEndpointWithSecret,
} from './webhooks.schema.js';
import { newSigningSecret, sealForReplay, secretRow } from './webhooks.secrets.js';
import type { EndpointRow, Owner } from './webhooks.store.js';
import * as store from './webhooks.store.js';

export interface WebhookDeps {
  db: Db;
  /** Seals signing secrets at rest. */
  secretBox: SecretBox;
  /** `LUNIPAY_WEBHOOK_ALLOW_PRIVATE`: the address rules lifted, for local development. */
  allowPrivate: boolean;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);
const owner = (auth: AuthContext): Owner => ({ accountId: auth.accountId, mode: auth.mode });

/** The one place a stored row becomes the API's webhook endpoint object (never with a secret). */
export function toEndpoint(row: EndpointRow): WebhookEndpoint {
  return {
    id: row.id,
    object: 'webhook_endpoint',
    url: row.url,
    enabled_events: enabledEventsOf(row),
    status: row.status,
    description: row.description,
    metadata: parseMetadata(row.metadata),
    api_version: row.api_version,
    livemode: row.mode === 'live',
    created: row.created,
  };
}

export function enabledEventsOf(row: Pick<EndpointRow, 'enabled_events'>): EventSelector[] {
  return JSON.parse(row.enabled_events) as EventSelector[];
}

/** Whether an endpoint with these `enabled_events` receives an event of this type. */
export function matchesEvent(enabled: readonly string[], type: string): boolean {
  return enabled.some(
    (selector) =>
      selector === '*' ||
      selector === type ||
      (selector.endsWith('.*') && type.startsWith(selector.slice(0, -1))),
  );
}

/**
 * The endpoints that get a delivery of an event of `type` written now: enabled, of the event's
 * account and mode, with a matching `enabled_events`. Pass the event's own transaction, so the
 * answer is the one at the moment the event is written.
 */
export async function endpointsForEvent(
  db: Kysely<Database> | Transaction<Database>,
  owner: Owner,
  type: string,
): Promise<EndpointRow[]> {
  const rows = await store.listEnabledEndpoints(db, owner);
  return rows.filter((row) => matchesEvent(enabledEventsOf(row), type));
}

export function notFound(id: string, otherMode?: string): AppError {
  const suffix = otherMode
    ? `; a similar object exists in ${otherMode} mode, but a ${otherMode === 'live' ? 'test' : 'live'} mode key was used to make this request`
    : '';
  return new AppError('resource_missing', `No such webhook endpoint: '${id}'${suffix}.`, 'id');
}

/** A 404 that says so when the id belongs to the same account's other mode. */
async function missing(deps: WebhookDeps, auth: AuthContext, id: string): Promise<AppError> {
  const mode = isId('we', id) ? await store.findEndpointMode(deps.db.reader, auth.accountId, id) : undefined;
  return notFound(id, mode !== undefined && mode !== auth.mode ? mode : undefined);
}

function checkUrl(deps: WebhookDeps, auth: AuthContext, url: string): string {
  const problem = urlProblem(url, { livemode: auth.mode === 'live', allowPrivate: deps.allowPrivate });
  if (problem) throw new AppError('parameter_invalid', problem, 'url');
  return url;
}

/** Stored once each, in the order first given. */
const eventsText = (events: readonly EventSelector[]) => JSON.stringify([...new Set(events)]);
const orNull = (value: string | null | undefined) => (value === undefined || value === '' ? null : value);

/** The 200 that create and roll store for a replay: the same body, its secret sealed. */
function withSealedSecret(deps: WebhookDeps, endpoint: WebhookEndpointWithSecret) {
  return {
    status: 200,
    body: { ...endpoint, secret: sealForReplay(deps.secretBox, endpoint.id, endpoint.secret) },
  };
}

export async function createEndpoint(
  deps: WebhookDeps,
  auth: AuthContext,
  body: CreateWebhookEndpointBody,
  beforeCommit?: BeforeCommit,
): Promise<WebhookEndpointWithSecret> {
  const now = Date.now();
  const row: EndpointRow = {
    id: newId('we'),
    account_id: auth.accountId,
    mode: auth.mode,
    url: checkUrl(deps, auth, body.url),
    enabled_events: eventsText(body.enabled_events),
    description: orNull(body.description),
    metadata: mergeMetadata(null, body.metadata),
    status: 'enabled',
    failing_since: null,
    api_version: API_VERSION,
    created: Math.floor(now / 1000),
    updated: Math.floor(now / 1000),
  };
  const secret = newSigningSecret();
  const secretStored = secretRow(deps.secretBox, row.id, secret, now);
  const endpoint = { ...toEndpoint(row), secret };
  const stored = withSealedSecret(deps, endpoint);
  await deps.db.write(async (trx) => {
    // Counted under a lock, so concurrent creates in any process cannot pass the limit together.
    if (deps.db.locksRows) await store.lockAccountEndpoints(trx, auth.accountId);
    if ((await store.countEndpoints(trx, owner(auth))) >= MAX_ENDPOINTS) {
      throw new AppError(
        'limit_exceeded',
        `An account can have at most ${MAX_ENDPOINTS} webhook endpoints in ${auth.mode} mode; delete one to add another.`,
      );
    }
    await store.insertEndpoint(trx, row);
    await store.insertSecret(trx, secretStored);
    await beforeCommit?.(trx, stored);
  });
  return endpoint;
}

export async function retrieveEndpoint(
  deps: WebhookDeps,
  auth: AuthContext,
  id: string,
): Promise<WebhookEndpoint> {
  const row = isId('we', id) ? await store.findEndpoint(deps.db.reader, owner(auth), id) : undefined;
  if (!row) throw await missing(deps, auth, id);
  return toEndpoint(row);
}

/** The stored columns a body changes; only fields whose value really differs are included. */
function changesFor(deps: WebhookDeps, auth: AuthContext, row: EndpointRow, body: UpdateWebhookEndpointBody) {
  const next: store.EndpointChanges = {};
  if (body.url !== undefined && body.url !== row.url) next.url = checkUrl(deps, auth, body.url);
  if (body.enabled_events !== undefined) {
    const events = eventsText(body.enabled_events);
    if (events !== row.enabled_events) next.enabled_events = events;
  }
  if (body.description !== undefined && orNull(body.description) !== row.description) {
    next.description = orNull(body.description);
  }
  const metadata = mergeMetadata(parseMetadata(row.metadata), body.metadata);
  if (metadata !== row.metadata) next.metadata = metadata;
  if (body.disabled !== undefined) {
    const status = body.disabled ? 'disabled' : 'enabled';
    if (status !== row.status) next.status = status;
    // Enabled again: the five days of failures that disable an endpoint count from now.
    if (status === 'enabled' && status !== row.status) next.failing_since = null;
  }
  return next;
}

/** Any subset of the writable fields; one that changes nothing leaves the row as it was. */
export async function updateEndpoint(
  deps: WebhookDeps,
  auth: AuthContext,
  id: string,
  body: UpdateWebhookEndpointBody,
  beforeCommit?: BeforeCommit,
): Promise<WebhookEndpoint> {
  if (!isId('we', id)) throw await missing(deps, auth, id);
  const result = await deps.db.write(async (trx) => {
    const row = await store.findEndpoint(trx, owner(auth), id, deps.db.locksRows);
    if (!row) return undefined;
    const changes = changesFor(deps, auth, row, body);
    let updated = row;
    if (Object.keys(changes).length > 0) {
      changes.updated = nowSeconds();
      await store.updateEndpoint(trx, owner(auth), id, changes);
      updated = { ...row, ...changes };
    }
    const endpoint = toEndpoint(updated);
    await beforeCommit?.(trx, { status: 200, body: endpoint });
    return endpoint;
  });
  if (!result) throw await missing(deps, auth, id);
  return result;
}

/** Permanent: the endpoint and its secrets are gone, and it receives nothing more. */
export async function deleteEndpoint(
  deps: WebhookDeps,
  auth: AuthContext,
  id: string,
  beforeCommit?: BeforeCommit,
): Promise<DeletedWebhookEndpoint> {
  if (!isId('we', id)) throw await missing(deps, auth, id);
  const deleted: DeletedWebhookEndpoint = { id, object: 'webhook_endpoint', deleted: true };
  const found = await deps.db.write(async (trx) => {
    const row = await store.findEndpoint(trx, owner(auth), id, deps.db.locksRows);
    if (!row) return false;
    await store.deleteEndpoint(trx, owner(auth), id);
    // Its waiting deliveries end with it, rather than each being claimed only to find it gone.
    await cancelQueuedDeliveries(trx, id, Date.now(), 'endpoint deleted');
    await beforeCommit?.(trx, { status: 200, body: deleted });
    return true;
  });
  if (!found) throw await missing(deps, auth, id);
  return deleted;
}

/**
 * A new current secret. The ones signing until now keep signing for `expires_in` seconds at
 * most (0: they stop at once), so a receiver can switch without missing a delivery, and a
 * leaked secret can always be made to stop.
 */
export async function rollSecret(
  deps: WebhookDeps,
  auth: AuthContext,
  id: string,
  body: RollSecretBody,
  beforeCommit?: BeforeCommit,
): Promise<WebhookEndpointWithSecret> {
  if (!isId('we', id)) throw await missing(deps, auth, id);
  const now = Date.now();
  const expiresAt = now + (body.expires_in ?? ROLL_EXPIRES_DEFAULT) * 1000;
  const secret = newSigningSecret();
  const secretStored = secretRow(deps.secretBox, id, secret, now);
  const result = await deps.db.write(async (trx) => {
    const row = await store.findEndpoint(trx, owner(auth), id, deps.db.locksRows);
    if (!row) return undefined;
    await store.expireSecrets(trx, id, expiresAt, now);
    await store.insertSecret(trx, secretStored);
    const endpoint = { ...toEndpoint(row), secret };
    await beforeCommit?.(trx, withSealedSecret(deps, endpoint));
    return endpoint;
  });
  if (!result) throw await missing(deps, auth, id);
  return result;
}

export async function listEndpoints(
  deps: WebhookDeps,
  auth: AuthContext,
  query: ListWebhookEndpointsQuery,
): Promise<WebhookEndpointList> {
  const page = pageOf(query, 'we', 'a webhook endpoint id');
  const rows = await store.listEndpoints(deps.db.reader, owner(auth), page);
  const { rows: shownRows, has_more } = shown(rows, page);
  return { object: 'list', url: '/v1/webhook_endpoints', has_more, data: shownRows.map(toEndpoint) };
}
