import type { FastifyRequest } from 'fastify';
import type { AuthContext } from '../accounts/keys.js';
import { AppError } from '../errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook on every authenticated route. */
    auth: AuthContext | null;
  }
}

export type Authenticate = (secret: string) => Promise<AuthContext | null>;

/**
 * The secret from `Authorization: Bearer KEY` or HTTP Basic with the key as the user name
 * (`curl -u KEY:`). Null when no key was sent at all.
 */
export function secretFrom(header: string | undefined): string | null {
  if (header === undefined || header.trim() === '') return null;
  const [scheme = '', ...rest] = header.trim().split(/\s+/);
  const value = rest.join(' ');
  if (/^bearer$/i.test(scheme)) return value === '' ? null : value;
  if (/^basic$/i.test(scheme)) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const user = decoded.includes(':') ? decoded.slice(0, decoded.indexOf(':')) : decoded;
    return user === '' ? null : user;
  }
  // Some other scheme: a key was sent, just not in a form we accept.
  return '';
}

const invalid = () =>
  new AppError(
    'api_key_invalid',
    'Invalid API key provided. Use a secret key (sk_test_… or sk_live_…) that has not been revoked.',
  );

export function authHook(authenticate: Authenticate) {
  return async function requireKey(request: FastifyRequest): Promise<void> {
    const secret = secretFrom(request.headers.authorization);
    if (secret === null) {
      throw new AppError(
        'api_key_missing',
        'You did not provide an API key. Send it as Authorization: Bearer sk_… (or as the Basic auth user name).',
      );
    }
    if (secret === '') throw invalid();
    const auth = await authenticate(secret);
    if (!auth) throw invalid();
    request.auth = auth;
  };
}

/** The caller of an authenticated route: the hook has run, so it is set. */
export function callerOf(request: FastifyRequest): AuthContext {
  if (!request.auth) throw new Error('route is missing the auth hook');
  return request.auth;
}
