import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  APIError,
  ConnectionError,
  LuniPay,
  type LuniPayError,
  RateLimitError,
  TimeoutError,
} from '../src/index.js';
import { startCanned } from './canned.js';
import type { Fault, FaultyServer } from './fault-server.js';
import { assertError, clientFor, closedPort, KEY, rejection } from './helpers.js';

/**
 * The error classes made of injected faults, odd answers and failed connections. What the real
 * server's errors become is tested against it: test/sdk/errors.system.test.ts in the repository.
 */

let server: FaultyServer;
before(async () => {
  server = await startCanned();
});
after(() => server.close());

describe('typed errors', () => {
  it('RateLimitError after the retries, with retryAfter', async () => {
    const lunipay = clientFor(server, KEY, { maxRetries: 1 });
    server.reset();
    server.failNext(2, { kind: 'status', status: 429, retryAfter: '0' });
    const err = await rejection(lunipay.customers.list());
    assertError(err, RateLimitError, {
      type: 'rate_limit_error',
      code: 'rate_limited',
      status: 429,
      retryAfter: 0,
    } as Partial<RateLimitError>);
    assert.equal(server.attempts.length, 2);
  });

  it('APIError for api_error (500, 503), for an unknown type, and for a body that is not an error object', async () => {
    const lunipay = clientFor(server, KEY, { maxRetries: 0 });
    const cases: [Fault, Partial<LuniPayError>][] = [
      [
        { kind: 'status', status: 503 },
        { type: 'api_error', code: 'service_unavailable', status: 503 },
      ],
      [
        { kind: 'status', status: 500 },
        { code: 'internal_error', status: 500 },
      ],
      [
        {
          kind: 'status',
          status: 418,
          body: { error: { type: 'teapot_error', code: 'short', message: 'I am a teapot.' } },
        },
        { type: 'teapot_error', code: 'short', status: 418 },
      ],
      [
        { kind: 'status', status: 502, body: '<html>Bad gateway</html>', contentType: 'text/html' },
        { type: 'api_error', code: 'invalid_response', status: 502 },
      ],
      [
        { kind: 'status', status: 500, body: '' },
        { code: 'invalid_response', status: 500 },
      ],
    ];
    for (const [fault, fields] of cases) {
      server.failNext(1, fault);
      const err = await rejection(lunipay.customers.list());
      assertError(err, APIError, fields);
      assert.equal((err as LuniPayError).requestId, `req_fault_${server.attempts.length}`);
    }
  });

  it('APIError when a 200 is not JSON', async () => {
    const lunipay = new LuniPay(KEY, {
      baseUrl: server.url,
      fetch: async () => new Response('not json', { status: 200, headers: { 'request-id': 'req_x' } }),
    });
    const err = await rejection(lunipay.customers.list());
    assertError(err, APIError, { code: 'invalid_response', status: 200, requestId: 'req_x' });
  });

  it('ConnectionError when nothing listens (no status, no requestId), with the cause', async () => {
    const lunipay = new LuniPay(KEY, {
      baseUrl: `http://127.0.0.1:${await closedPort()}`,
      maxRetries: 0,
    });
    const err = await rejection(lunipay.customers.list());
    assertError(err, ConnectionError, {
      type: 'connection_error',
      code: 'connection_failed',
      status: undefined,
      requestId: undefined,
    });
    assert.ok(!(err instanceof TimeoutError));
    assert.match((err as Error).message, /ECONNREFUSED/);
    assert.ok((err as Error).cause);
  });

  it('TimeoutError is a ConnectionError', async () => {
    const lunipay = clientFor(server, KEY, { timeoutMs: 50, maxRetries: 0 });
    server.reset();
    server.failNext(1, { kind: 'delay', ms: 300 });
    const err = await rejection(lunipay.customers.list());
    assertError(err, TimeoutError, { type: 'connection_error', code: 'timeout', status: undefined });
    assert.ok(err instanceof ConnectionError);
  });
});
