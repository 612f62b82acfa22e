import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  APIError,
  ConnectionError,
  IdempotencyError,
  InvalidRequestError,
  LuniPay,
  LuniPayError,
  TimeoutError,
} from '../../sdk/src/index.js';
import type { FaultyServer } from '../../sdk/test/fault-server.js';
import { rejection } from '../../sdk/test/helpers.js';
import { all, MISSING_ID, UUID, useSdkServer } from './server.js';

/**
 * Retries and timeouts end to end: the fault proxy fails requests before or after the real
 * server acted, and the server's idempotency keys make the SDK's retries safe. Each test has an
 * account of its own, so "one customer" is counted exactly.
 */

const keysOf = (proxy: FaultyServer) => proxy.attempts.map((a) => a.idempotencyKey);

describe('retries and timeouts through a fault-injecting proxy', () => {
  const { proxy, account, client, direct } = useSdkServer();
  /** A new account: a client through the proxy, and the ids of its customers read straight from the server. */
  const fresh = async (options = {}) => {
    const { key } = await account();
    proxy.reset();
    return {
      key,
      lunipay: client(key, options),
      stored: async () => (await all(direct(key))).map((c) => c.id),
    };
  };

  it('a create failing twice with 503 is retried with the SAME key and succeeds: one customer', async () => {
    const { lunipay, stored } = await fresh();
    proxy.failNext(2, { kind: 'status', status: 503 });
    const c = await lunipay.customers.create({ email: 'retry@example.com' });
    assert.equal(c.email, 'retry@example.com');
    assert.equal(proxy.attempts.length, 3);
    const keys = keysOf(proxy);
    assert.match(keys[0] ?? '', UUID);
    assert.deepEqual(keys, [keys[0], keys[0], keys[0]]);
    assert.deepEqual(await stored(), [c.id]);
  });

  it('503, then a reset before forwarding, then success: one customer, one Idempotency-Key', async () => {
    const { lunipay, stored } = await fresh();
    proxy.failNext(1, { kind: 'status', status: 503 }).failNext(1, { kind: 'reset' });
    const c = await lunipay.customers.create({ email: 'reset@example.com' });
    assert.equal(proxy.attempts.length, 3);
    assert.equal(new Set(keysOf(proxy)).size, 1);
    assert.deepEqual(await stored(), [c.id]);
    assert.equal((await lunipay.customers.retrieve(c.id)).id, c.id);
  });

  it('a key of the caller’s own is sent as is on every attempt, and repeating the call replays it', async () => {
    const { lunipay, stored } = await fresh();
    const a = await lunipay.customers.create({ email: 'once@example.com' }, { idempotencyKey: 'signup-42' });
    const b = await lunipay.customers.create({ email: 'once@example.com' }, { idempotencyKey: 'signup-42' });
    assert.deepEqual(b, a);
    assert.deepEqual(keysOf(proxy), ['signup-42', 'signup-42']);
    assert.equal(proxy.attempts[1]?.replayed, true);
    assert.deepEqual(await stored(), [a.id]);

    proxy.reset();
    proxy.failNext(2, { kind: 'status', status: 503 });
    const updated = await lunipay.customers.update(
      a.id,
      { notes: 'retried' },
      { idempotencyKey: 'sdk-test-update-1' },
    );
    assert.equal(updated.notes, 'retried');
    assert.deepEqual(keysOf(proxy), ['sdk-test-update-1', 'sdk-test-update-1', 'sdk-test-update-1']);
  });

  it('the answer is lost after the server created the customer: the retry is replayed, still ONE customer', async () => {
    const { lunipay, stored } = await fresh();
    proxy.failNext(1, { kind: 'reset-after' });
    const c = await lunipay.customers.create({ email: 'lost-answer@example.com' });
    assert.equal(proxy.attempts.length, 2);
    assert.equal(proxy.attempts[0]?.status, 200, 'the first attempt did create the customer');
    assert.equal(proxy.attempts[1]?.replayed, true, 'the retry got the stored answer back');
    assert.equal(new Set(keysOf(proxy)).size, 1);
    assert.deepEqual(await stored(), [c.id]);
  });

  it('the same for update and delete', async () => {
    const { lunipay, stored } = await fresh();
    const c = await lunipay.customers.create({ email: 'u@example.com' });
    proxy.reset();
    proxy.failNext(1, { kind: 'reset-after' }).failNext(1, { kind: 'status', status: 502 });
    const u = await lunipay.customers.update(c.id, { first_name: 'Replayed', metadata: { n: '1' } });
    assert.equal(u.first_name, 'Replayed');
    assert.deepEqual(u.metadata, { n: '1' });
    assert.equal(proxy.attempts.length, 3);
    assert.equal(proxy.attempts[2]?.replayed, true);
    assert.equal(new Set(keysOf(proxy)).size, 1);

    proxy.reset();
    proxy.failNext(1, { kind: 'reset-after' });
    const d = await lunipay.customers.del(c.id);
    assert.equal(d.deleted, true, 'the replay answers like the first delete did, not 404');
    assert.equal(proxy.attempts.length, 2);
    assert.equal(new Set(keysOf(proxy)).size, 1);
    assert.deepEqual(await stored(), []);
  });

  it('a timed-out first attempt still on its way: it and the retries make one customer, executed once', async () => {
    const { lunipay, stored } = await fresh({ timeoutMs: 100, retryDelayMs: 150, maxRetryDelayMs: 150 });
    // The first attempt reaches the server 200 ms late, after the SDK gave up on it (100 ms) and
    // around when it retries: whichever arrives first creates, the other is replayed (or finds
    // the first in flight: 409, and is retried).
    proxy.failNext(1, { kind: 'delay', ms: 200 });
    const c = await lunipay.customers.create({ email: 'slow@example.com' }, { maxRetries: 4 });
    for (let waited = 0; proxy.attempts.some((a) => a.status === undefined); waited += 20) {
      assert.ok(waited < 10_000, 'the late first attempt was never answered');
      await sleep(20);
    }
    assert.deepEqual(await stored(), [c.id]);
    assert.equal(new Set(keysOf(proxy)).size, 1);
    assert.ok(proxy.attempts.length >= 2);
    for (const a of proxy.attempts) assert.ok(a.status === 200 || a.status === 409, JSON.stringify(a));
    assert.equal(proxy.attempts.filter((a) => a.status === 200 && !a.replayed).length, 1, 'executed once');
  });

  it('4xx other than 409/429 are not retried', async () => {
    const { lunipay } = await fresh();
    for (const [call, cls] of [
      [() => lunipay.customers.create({ email: 'nope' }), InvalidRequestError],
      [() => lunipay.customers.retrieve(MISSING_ID), InvalidRequestError],
    ] as const) {
      proxy.reset();
      assert.ok((await rejection(call())) instanceof cls);
      assert.equal(proxy.attempts.length, 1);
    }
    proxy.reset();
    await lunipay.customers.create({ email: 'i@example.com' }, { idempotencyKey: 'dup' });
    const err = await rejection(
      lunipay.customers.create({ email: 'j@example.com' }, { idempotencyKey: 'dup' }),
    );
    assert.ok(err instanceof IdempotencyError);
    assert.equal(proxy.attempts.length, 2);
  });

  it('429 with Retry-After: 1 is waited out', async () => {
    const { lunipay } = await fresh();
    proxy.failNext(1, { kind: 'status', status: 429, retryAfter: '1' });
    await lunipay.customers.list({ limit: 1 });
    const waited = (proxy.attempts[1]?.at ?? 0) - (proxy.attempts[0]?.at ?? 0);
    assert.ok(waited >= 950, `waited ${waited} ms`);
  });

  it('APIError after the retries (5xx every time)', async () => {
    const { lunipay } = await fresh();
    proxy.failNext(3, { kind: 'status', status: 503 });
    const err = await rejection(lunipay.customers.list());
    assert.ok(err instanceof APIError);
    assert.ok(err instanceof LuniPayError);
    assert.equal(err.status, 503);
    assert.equal(proxy.attempts.length, 3);
  });

  it('TimeoutError when the answer takes longer than timeoutMs; a retry after a timeout succeeds', async () => {
    const { key } = await fresh();
    proxy.slowMs = 1000;
    const impatient = new LuniPay(key, { baseUrl: proxy.url, timeoutMs: 200, maxRetries: 0 });
    const started = Date.now();
    const err = await rejection(impatient.customers.list({ limit: 1 }));
    assert.ok(err instanceof TimeoutError);
    assert.ok(err instanceof ConnectionError);
    assert.ok(Date.now() - started < 900, 'gave up at the timeout, not when the answer came');
    await sleep(1000); // the proxy finishes the abandoned request

    // A read: first attempt too slow, second fine.
    proxy.reset();
    proxy.failNext(1, { kind: 'delay', ms: 600 });
    const patient = new LuniPay(key, { baseUrl: proxy.url, timeoutMs: 200, maxRetries: 1, retryDelayMs: 10 });
    const page = await patient.customers.list({ limit: 1 });
    assert.equal(page.object, 'list');
    assert.equal(proxy.attempts.length, 2);
  });

  it('a create timed out and retried with the same key makes one customer', async () => {
    const { key, stored } = await fresh();
    proxy.failNext(1, { kind: 'delay', ms: 400 });
    const patient = new LuniPay(key, {
      baseUrl: proxy.url,
      timeoutMs: 200,
      maxRetries: 4,
      retryDelayMs: 300,
    });
    const c = await patient.customers.create({ email: 'timeout@example.com' });
    await sleep(300); // the late first attempt reaches the server too
    assert.equal(new Set(keysOf(proxy)).size, 1);
    assert.deepEqual(await stored(), [c.id]);
  });
});
