import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AuthenticationError,
  IdempotencyError,
  InvalidRequestError,
  LuniPay,
  type LuniPayError,
  RateLimitError,
} from '../../sdk/src/index.js';
import { assertError as assertClass, rejection } from '../../sdk/test/helpers.js';
import { inOneWindow } from '../helpers/rate-limit.js';
import { MISSING_ID, REQUEST_ID, useSdkServer } from './server.js';

/** The SDK's error classes as the real server's answers make them. */

/** As the SDK's own assertError, and the error carries the server's request id. */
function assertError(
  err: unknown,
  cls: new (...args: never[]) => LuniPayError,
  fields: Partial<LuniPayError>,
): void {
  assertClass(err, cls, fields);
  assert.match((err as LuniPayError).requestId ?? '', REQUEST_ID);
}

describe('error classes, as the real server sends them', () => {
  const { server, proxy, account, client, revoke } = useSdkServer();

  it('InvalidRequestError: parameter_missing / _invalid / _unknown / parameters_exclusive, with param and status', async () => {
    const lunipay = client((await account()).key);
    const missing = await rejection(lunipay.customers.create({} as { email: string }));
    assertError(missing, InvalidRequestError, {
      type: 'invalid_request_error',
      code: 'parameter_missing',
      param: 'email',
      status: 400,
    });
    assert.match((missing as LuniPayError).message, /email/);

    const bad = await rejection(lunipay.customers.create({ email: 'not-an-email' }));
    assertError(bad, InvalidRequestError, {
      type: 'invalid_request_error',
      code: 'parameter_invalid',
      param: 'email',
      status: 400,
    });

    const unknown = await rejection(
      lunipay.customers.create({ email: 'a@example.com', stripe_customer_id: 'cus_X' } as { email: string }),
    );
    assertError(unknown, InvalidRequestError, { code: 'parameter_unknown', param: 'stripe_customer_id' });

    const meta = await rejection(
      lunipay.customers.create({ email: 'a@example.com', metadata: { 'a[b]': 'x' } }),
    );
    assertError(meta, InvalidRequestError, { code: 'parameter_invalid', param: 'metadata[a[b]]' });

    const both = await rejection(
      lunipay.customers.list({ starting_after: MISSING_ID, ending_before: MISSING_ID }),
    );
    assertError(both, InvalidRequestError, { code: 'parameters_exclusive', status: 400 });

    const cursor = await rejection(lunipay.customers.list({ starting_after: 'nope' }));
    assertError(cursor, InvalidRequestError, { code: 'parameter_invalid', status: 400 });
  });

  it('InvalidRequestError 404 resource_missing with param id, from retrieve, update and del', async () => {
    const lunipay = client((await account()).key);
    for (const call of [
      () => lunipay.customers.retrieve(MISSING_ID),
      () => lunipay.customers.update(MISSING_ID, { first_name: 'X' }),
      () => lunipay.customers.del(MISSING_ID),
    ]) {
      const err = await rejection(call());
      assertError(err, InvalidRequestError, { code: 'resource_missing', param: 'id', status: 404 });
      assert.match((err as Error).message, /No such customer/);
    }
  });

  it('AuthenticationError: api_key_invalid (401) for an unknown key and for a revoked one, not retried', async () => {
    const stranger = new LuniPay(`sk_test_${'x'.repeat(32)}`, { baseUrl: server.url });
    const unknown = await rejection(stranger.customers.list());
    assertError(unknown, AuthenticationError, { code: 'api_key_invalid', status: 401 });
    assert.ok(!(unknown as Error).message.includes('x'.repeat(32)), 'the message does not echo the key');

    const revoked = await account();
    const lunipay = client(revoked.key);
    await lunipay.customers.list();
    await revoke(revoked);
    proxy.reset();
    const err = await rejection(lunipay.customers.list());
    assertError(err, AuthenticationError, {
      type: 'authentication_error',
      code: 'api_key_invalid',
      status: 401,
    });
    assert.equal(proxy.attempts.length, 1);
  });

  it('IdempotencyError: same key, different parameters (400 idempotency_key_reused)', async () => {
    const lunipay = client((await account()).key);
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

  it('405 on a route is an InvalidRequestError too (via a custom fetch that changes the method)', async () => {
    const lunipay = new LuniPay((await account()).key, {
      baseUrl: server.url,
      maxRetries: 0,
      fetch: (url, init) => fetch(url, { ...init, method: 'PUT' }),
    });
    const err = await rejection(lunipay.customers.list());
    assertError(err, InvalidRequestError, { code: 'method_not_allowed', status: 405 });
  });
});

describe('RateLimitError from the real limiter', () => {
  const LIMIT = 5;
  const { account, direct } = useSdkServer({ LUNIPAY_RATE_LIMIT: String(LIMIT) });

  it('429 with Retry-After past the limit; with retries on, the SDK waits it out and gets through', async () => {
    const BURST = LIMIT * 3 + 10;
    const { key, results } = await inOneWindow(
      async () => (await account()).key,
      async (key) => {
        const noRetry = direct(key, { maxRetries: 0 });
        const results = await Promise.allSettled(
          Array.from({ length: BURST }, () => noRetry.customers.list({ limit: 1 })),
        );
        return { key, results };
      },
    );
    const limited = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    assert.equal(limited.length, BURST - LIMIT, `${limited.length} of ${BURST} limited`);
    for (const err of limited) {
      assertError(err, RateLimitError, { type: 'rate_limit_error', code: 'rate_limited', status: 429 });
      assert.ok((err as RateLimitError).retryAfter !== undefined, 'Retry-After is set');
    }
    await new Promise((r) => setTimeout(r, 1100));
    const again = await Promise.all(
      Array.from({ length: LIMIT + 2 }, () => direct(key).customers.list({ limit: 1 })),
    );
    assert.equal(again.length, LIMIT + 2);
  });
});
