import { randomBytes, randomInt } from 'node:crypto';
import { hashSecret } from '../accounts/keys.js';

/**
 * The portal's secrets: link tokens, browser session ids and one-time codes. Tokens and ids are
 * 256 random bits, so a fast hash at rest is enough (nothing to guess from); they are looked up
 * by that hash. A 6-digit code is hashed with the id of its sign-in, so one code's hash says
 * nothing of another's; it lives 15 minutes and five wrong tries void it.
 */
export const newToken = (): string => randomBytes(32).toString('base64url');
export const hashToken = (token: string): string => hashSecret(token);
export const newCode = (): string => String(randomInt(0, 1_000_000)).padStart(6, '0');
export const hashCode = (signInId: string, code: string): string => hashSecret(`${signInId}:${code}`);

/** A token as the routes accept one: anything else is no token, and finds nothing. */
export const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;
