import { randomBytes } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../db/schema.js';
import { ulid } from '../ids.js';
import type { SecretBox } from '../secret-key.js';
import { SECRET_PREFIX } from './webhooks.signing.js';
import * as store from './webhooks.store.js';

/**
 * Signing secrets: made here, stored only sealed by the SecretBox (bound to their endpoint),
 * and opened only to sign a delivery. Never returned after the response that made them.
 */

/** `whsec_` and the base64 of 32 random bytes, as Standard Webhooks libraries expect. */
export function newSigningSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

const storedContext = (endpointId: string) => `webhook_endpoint_secret:${endpointId}`;

/** The row that stores a new secret of an endpoint, sealed. */
export function secretRow(
  box: SecretBox,
  endpointId: string,
  secret: string,
  nowMs: number,
): store.SecretRow {
  return {
    id: ulid(nowMs),
    endpoint_id: endpointId,
    secret: box.seal(secret, storedContext(endpointId)),
    created: nowMs,
    expires_at: null,
  };
}

/**
 * The secrets an endpoint signs with at `nowMs`, opened, newest first: what a delivery passes to
 * `signatureHeaders`. Empty for an endpoint that does not exist.
 */
export async function loadActiveSecrets(
  db: Kysely<Database> | Transaction<Database>,
  box: SecretBox,
  endpointId: string,
  nowMs = Date.now(),
): Promise<string[]> {
  const rows = await store.activeSecrets(db, endpointId, nowMs);
  return rows.map((row) => box.open(row.secret, storedContext(endpointId)));
}

/**
 * The stored idempotent response of a create or a roll holds the secret it showed, sealed, so
 * that a replay can show it again while the database holds no secret in clear.
 */
const REPLAY_PREFIX = 'whsec_sealed:';
const replayContext = (endpointId: string) => `webhook_endpoint_replay:${endpointId}`;

export function sealForReplay(box: SecretBox, endpointId: string, secret: string): string {
  return REPLAY_PREFIX + box.seal(secret, replayContext(endpointId));
}

/** A replayed body with its sealed secret opened again; any other body as it is. */
export function openReplay(box: SecretBox, payload: string): string {
  let body: { id?: unknown; secret?: unknown };
  try {
    body = JSON.parse(payload);
  } catch {
    return payload;
  }
  const { id, secret } = body ?? {};
  if (typeof id !== 'string' || typeof secret !== 'string' || !secret.startsWith(REPLAY_PREFIX))
    return payload;
  const opened = box.open(secret.slice(REPLAY_PREFIX.length), replayContext(id));
  // The sealed text is random and appears once: the rest of the stored bytes are sent unchanged.
  return payload.replace(JSON.stringify(secret), JSON.stringify(opened));
}
