import { hash, randomInt } from 'node:crypto';
import type { Mode } from '../db/schema.js';

/** Who is calling: decided by the API key alone, for every request. */
export interface AuthContext {
  accountId: string;
  mode: Mode;
  keyId: string;
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const SECRET_RANDOM_LENGTH = 32;
/** What a well-formed secret looks like; anything else is refused before the database is asked. */
const SECRET_SHAPE = /^sk_(test|live)_[0-9A-Za-z]{24,128}$/;

/** A new secret: the mode's prefix and 32 base62 characters (about 190 bits) from the CSPRNG. */
export function newSecret(mode: Mode): string {
  let random = '';
  for (let i = 0; i < SECRET_RANDOM_LENGTH; i++) random += BASE62[randomInt(62)];
  return `sk_${mode}_${random}`;
}

/**
 * Secrets are stored only as this hash and looked up by it. The secrets carry enough entropy
 * that a fast hash is safe (no dictionary to attack), and lookup by hash needs no comparison of
 * secrets at all, constant-time or otherwise.
 */
export function hashSecret(secret: string): string {
  return hash('sha256', secret, 'hex');
}

export function secretMode(secret: string): Mode | null {
  const match = SECRET_SHAPE.exec(secret);
  return match ? (match[1] as Mode) : null;
}

/** The visible start of a secret, for listings and logs: the prefix and four characters. */
export function secretStart(secret: string): string {
  return secret.slice(0, secret.indexOf('_', 3) + 5);
}
