import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  APIError,
  AuthenticationError,
  ConnectionError,
  IdempotencyError,
  InvalidRequestError,
  LuniPay,
  LuniPayError,
  RateLimitError,
  TimeoutError,
} from '../src/index.js';
import type { Fault, FaultyServer } from './fault-server.js';
import { clientFor, closedPort, rejection } from './helpers.js';
import { freshKey, type StubApi, startStub } from './stub-server.js';

let server: FaultyServer;
let api: StubApi;
before(async () => {
  ({ server, api } = await startStub());
});
after(() => server.close());

const REQUEST_ID = /^req_/;

function assertError(
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

describe('typed errors', () => {
  it('InvalidRequestError: parameter_missing / parameter_invalid / parameter_unknown, with param, status, requestId', async () => {
    const lunipay = clientFor(server, freshKey());
    const missing = await rejection(lunipay.customers.create({} as { email: string }));
    assertError(missing, InvalidRequestError, {
      type: 'invalid_request_error',
      code: 'parameter_missing',
      param: 'email',
      status: 400,
    });
    assert.match((missing as LuniPayError).requestId ?? '', REQUEST_ID);
    assert.match((missing as LuniPayError).message, /email/);

    const bad = await rejection(lunipay.customers.create({ email: 'not-an-email' }));
    assertError(bad, InvalidRequestError, { code: 'parameter_invalid', param: 'email', status: 400 });

    const unknown = await rejection(
      lunipay.customers.create({ email: 'a@example.com', stripe_customer_id: 'cus_X' } as { email: string }),
    );
    assertError(unknown, InvalidRequestError, { code: 'parameter_unknown', param: 'stripe_customer_id' });

    const meta = await rejection(
      lunipay.customers.create({ email: 'a@example.com', metadata: { 'a[b]': 'x' } }),
    );
    assertError(meta, InvalidRequestError, { code: 'parameter_invalid', param: 'metadata[a[b]]' });
  });

  it('InvalidRequestError 404 resource_missing with param id', async () => {
    const lunipay = clientFor(server, freshKey());
    const err = await rejection(lunipay.customers.retrieve('cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY'));
    assertError(err, InvalidRequestError, { code: 'resource_missing', param: 'id', status: 404 });
    assert.match((err as Error).message, /No such customer/);
  });

  it('AuthenticationError: api_key_invalid (401), not retried', async () => {
    const key = freshKey();
    api.revokedKeys.add(key);
    const lunipay = clientFor(server, key);
    server.reset();
    const err = await rejection(lunipay.customers.list());
    assertError(err, AuthenticationError, {
      type: 'authentication_error',
      code: 'api_key_invalid',
      status: 401,
    });
    assert.match((err as LuniPayError).requestId ?? '', REQUEST_ID);
    assert.equal(server.attempts.length, 1);
  });

  it('IdempotencyError: same key, different parameters (400 idempotency_key_reused)', async () => {
    const lunipay = clientFor(server, freshKey());
    await lunipay.customers.create({ email: 'one@example.com' }, { idempotencyKey: 'order-1' });
    const err = await rejection(
      lunipay.customers.create({ email: 'two@example.com' }, { idempotencyKey: 'order-1' }),
    );
    assertError(err, IdempotencyError, {
      type: 'idempotency_error',
      code: 'idempotency_key_reused',
      status: 400,
    });
  });

  it('RateLimitError after the retries, with retryAfter', async () => {
    const lunipay = clientFor(server, freshKey(), { maxRetries: 1 });
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
    const lunipay = clientFor(server, freshKey(), { maxRetries: 0 });
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
    const lunipay = new LuniPay(freshKey(), {
      baseUrl: server.url,
      fetch: async () => new Response('not json', { status: 200, headers: { 'request-id': 'req_x' } }),
    });
    const err = await rejection(lunipay.customers.list());
    assertError(err, APIError, { code: 'invalid_response', status: 200, requestId: 'req_x' });
  });

  it('ConnectionError when nothing listens (no status, no requestId), with the cause', async () => {
    const lunipay = new LuniPay(freshKey(), {
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
    const lunipay = clientFor(server, freshKey(), { timeoutMs: 50, maxRetries: 0 });
    server.reset();
    server.failNext(1, { kind: 'delay', ms: 300 });
    const err = await rejection(lunipay.customers.list());
    assertError(err, TimeoutError, { type: 'connection_error', code: 'timeout', status: undefined });
    assert.ok(err instanceof ConnectionError);
  });

  it('405/404 on routes are InvalidRequestErrors too (via a custom fetch that mangles the method)', async () => {
    const lunipay = new LuniPay(freshKey(), {
      baseUrl: server.url,
      maxRetries: 0,
      fetch: (url, init) => fetch(url, { ...init, method: 'PUT' }),
    });
    const err = await rejection(lunipay.customers.list());
    assertError(err, InvalidRequestError, { code: 'method_not_allowed', status: 405 });
  });
});
