import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { LuniPay, LuniPayError, type LuniPayOptions } from '../src/index.js';
import type { FaultyServer } from './fault-server.js';

/** A well-formed secret key (the canned answers take any). */
export const KEY = `sk_test_${'k'.repeat(32)}`;

/** A client for `server` with short backoff delays, so retry tests run in milliseconds. */
export function clientFor(server: FaultyServer, key: string, options: LuniPayOptions = {}): LuniPay {
  return new LuniPay(key, { baseUrl: server.url, retryDelayMs: 5, maxRetryDelayMs: 20, ...options });
}

/** Resolves to the error a promise rejects with; fails if it resolves. */
export async function rejection(promise: PromiseLike<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject, but it resolved');
}

/** A loopback port on which nothing listens (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** `err` is an instance of `cls` (and of LuniPayError and Error), named after it, with `fields`. */
export function assertError(
  err: unknown,
  cls: new (...args: never[]) => LuniPayError,
  fields: Partial<LuniPayError>,
): void {
  assert.ok(err instanceof cls, `expected ${cls.name}, got ${String(err)}`);
  assert.ok(err instanceof LuniPayError);
  assert.ok(err instanceof Error);
  assert.equal(err.name, cls.name);
  for (const [k, v] of Object.entries(fields)) assert.deepEqual(err[k as keyof LuniPayError], v, k);
}
