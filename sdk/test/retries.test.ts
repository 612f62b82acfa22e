import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backoffDelayMs } from '../src/http.js';
import {
  APIError,
  ConnectionError,
  IdempotencyError,
  InvalidRequestError,
  RateLimitError,
} from '../src/index.js';
import type { FaultyServer } from './fault-server.js';
import { clientFor, rejection } from './helpers.js';
import { freshKey, type StubApi, startStub } from './stub-server.js';

let server: FaultyServer;
let api: StubApi;
before(async () => {
  ({ server, api } = await startStub());
});
after(() => server.close());

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const keysOf = (s: FaultyServer): (string | undefined)[] => s.attempts.map((a) => a.idempotencyKey);

describe('idempotency keys', () => {
  it('every write gets a fresh random UUID key; GETs get none', async () => {
    const lunipay = clientFor(server, freshKey());
    server.reset();
    const c = await lunipay.customers.create({ email: 'k@example.com' });
    await lunipay.customers.update(c.id, { first_name: 'K' });
    await lunipay.customers.retrieve(c.id);
    await lunipay.customers.list();
    await lunipay.customers.del(c.id);
    const [create, update, retrieve, list, del] = keysOf(server);
    for (const key of [create, update, del]) assert.match(key ?? '', UUID);
    assert.equal(new Set([create, update, del]).size, 3);
    assert.equal(retrieve, undefined);
    assert.equal(list, undefined);
  });

  it('can be chosen per call, so repeating the call replays instead of creating twice', async () => {
    const key = freshKey();
    const lunipay = clientFor(server, key);
    server.reset();
    const a = await lunipay.customers.create({ email: 'once@example.com' }, { idempotencyKey: 'signup-42' });
    const b = await lunipay.customers.create({ email: 'once@example.com' }, { idempotencyKey: 'signup-42' });
    assert.deepEqual(b, a);
    assert.deepEqual(keysOf(server), ['signup-42', 'signup-42']);
    assert.equal(server.attempts[1]?.replayed, true);
    assert.equal(api.account(key).customers.size, 1);
  });
});

describe('retries', () => {
  it('a create failing twice with 503 is retried with the SAME key and succeeds (default maxRetries = 2)', async () => {
    const key = freshKey();
    const lunipay = clientFor(server, key);
    server.reset();
    server.failNext(2, { kind: 'status', status: 503 });
    const c = await lunipay.customers.create({ email: 'retry@example.com' });
    assert.equal(c.email, 'retry@example.com');
    assert.equal(server.attempts.length, 3);
    const keys = keysOf(server);
    assert.match(keys[0] ?? '', UUID);
    assert.deepEqual(keys, [keys[0], keys[0], keys[0]]);
    assert.equal(api.account(key).customers.size, 1);
  });

  it('gives up after maxRetries + 1 attempts and throws the last error', async () => {
    const lunipay = clientFor(server, freshKey());
    server.reset();
    server.failNext(3, { kind: 'status', status: 503 });
    const err = await rejection(lunipay.customers.create({ email: 'x@example.com' }));
    assert.ok(err instanceof APIError);
    assert.equal(err.status, 503);
    assert.equal(server.attempts.length, 3);
    assert.equal(new Set(keysOf(server)).size, 1);
  });

  it('maxRetries is configurable on the client and per call; 0 turns retries off', async () => {
    server.reset();
    server.failNext(10, { kind: 'status', status: 500 });
    await rejection(clientFor(server, freshKey(), { maxRetries: 4 }).customers.list());
    assert.equal(server.attempts.length, 5);
    server.reset();
    server.failNext(10, { kind: 'status', status: 500 });
    await rejection(clientFor(server, freshKey(), { maxRetries: 4 }).customers.list({}, { maxRetries: 0 }));
    assert.equal(server.attempts.length, 1);
    server.reset();
    server.failNext(10, { kind: 'status', status: 500 });
    await rejection(
      clientFor(server, freshKey(), { maxRetries: 0 }).customers.create({ email: 'z@example.com' }),
    );
    assert.equal(server.attempts.length, 1);
  });

  it('a connection reset before the server acted is retried with the same key', async () => {
    const key = freshKey();
    const lunipay = clientFor(server, key);
    server.reset();
    server.failNext(2, { kind: 'reset' });
    const c = await lunipay.customers.create({ email: 'reset@example.com' });
    assert.equal(server.attempts.length, 3);
    assert.equal(new Set(keysOf(server)).size, 1);
    assert.equal(api.account(key).customers.size, 1);
    assert.equal((await lunipay.customers.retrieve(c.id)).id, c.id);
  });

  it('a connection reset AFTER the server created the customer: the retry is replayed, still ONE customer', async () => {
    const key = freshKey();
    const lunipay = clientFor(server, key);
    server.reset();
    server.failNext(1, { kind: 'reset-after' });
    const c = await lunipay.customers.create({ email: 'lost-answer@example.com' });
    assert.equal(server.attempts.length, 2);
    assert.equal(server.attempts[0]?.status, 200, 'the first attempt did create the customer');
    assert.equal(server.attempts[1]?.replayed, true, 'the retry got the stored answer back');
    assert.equal(api.account(key).customers.size, 1);
    assert.deepEqual([...api.account(key).customers.keys()], [c.id]);
  });

  it('the same for update and delete', async () => {
    const key = freshKey();
    const lunipay = clientFor(server, key);
    const c = await lunipay.customers.create({ email: 'u@example.com' });
    server.reset();
    server.failNext(1, { kind: 'reset-after' }).failNext(1, { kind: 'status', status: 502 });
    const u = await lunipay.customers.update(c.id, { metadata: { n: '1' } });
    assert.deepEqual(u.metadata, { n: '1' });
    assert.equal(server.attempts.length, 3);
    assert.equal(new Set(keysOf(server)).size, 1);

    server.reset();
    server.failNext(1, { kind: 'reset-after' });
    const d = await lunipay.customers.del(c.id);
    assert.equal(d.deleted, true, 'the replay answers like the first delete did, not 404');
    assert.equal(server.attempts.length, 2);
    assert.equal(new Set(keysOf(server)).size, 1);
  });

  it('a connection reset on the last attempt → ConnectionError', async () => {
    const lunipay = clientFor(server, freshKey(), { maxRetries: 1 });
    server.reset();
    server.failNext(2, { kind: 'reset' });
    const err = await rejection(lunipay.customers.retrieve('cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY'));
    assert.ok(err instanceof ConnectionError);
    assert.equal(server.attempts.length, 2);
  });

  it('409 idempotency_key_in_use is retried (same key) until the first request has finished', async () => {
    const key = freshKey();
    const lunipay = clientFor(server, key);
    server.reset();
    server.failNext(1, { kind: 'status', status: 409 });
    await lunipay.customers.create({ email: 'c409@example.com' });
    assert.equal(server.attempts.length, 2);
    assert.equal(new Set(keysOf(server)).size, 1);
  });

  it('a real in-flight conflict: a timed-out first attempt is still running, the retry gets 409, the next one the replay', async () => {
    const key = freshKey();
    const lunipay = clientFor(server, key, { timeoutMs: 100, retryDelayMs: 150, maxRetryDelayMs: 150 });
    server.reset();
    // first attempt holds the key for 200 ms, past the 100 ms timeout; the retry (at ~175–250 ms)
    // may see it in flight (409) or done (replay); either way there is one customer in the end.
    server.failNext(1, { kind: 'delay', ms: 200 });
    const c = await lunipay.customers.create({ email: 'slow@example.com' }, { maxRetries: 4 });
    assert.equal(api.account(key).customers.size, 1);
    assert.deepEqual([...api.account(key).customers.keys()], [c.id]);
    assert.equal(new Set(keysOf(server)).size, 1);
    assert.ok(server.attempts.length >= 2);
    assert.equal(server.attempts.at(-1)?.replayed, true);
  });

  it('429 waits for Retry-After (seconds) before retrying', async () => {
    const lunipay = clientFor(server, freshKey());
    server.reset();
    server.failNext(1, { kind: 'status', status: 429, retryAfter: '1' });
    const started = Date.now();
    await lunipay.customers.list();
    const waited = (server.attempts[1]?.at ?? 0) - (server.attempts[0]?.at ?? 0);
    assert.ok(waited >= 950, `waited ${waited} ms`);
    assert.ok(Date.now() - started < 3000);
  });

  it('Retry-After as an HTTP date is honoured too', async () => {
    const lunipay = clientFor(server, freshKey());
    server.reset();
    // HTTP dates have 1 s resolution: ask for "2 s from now", which is 1–2 s away
    server.failNext(1, {
      kind: 'status',
      status: 503,
      retryAfter: new Date(Date.now() + 2000).toUTCString(),
    });
    await lunipay.customers.list();
    const waited = (server.attempts[1]?.at ?? 0) - (server.attempts[0]?.at ?? 0);
    assert.ok(waited >= 900, `waited ${waited} ms`);
  });

  it('a Retry-After longer than maxRetryAfterMs is not waited out: RateLimitError at once, with retryAfter', async () => {
    const lunipay = clientFor(server, freshKey(), { maxRetryAfterMs: 5_000 });
    server.reset();
    server.failNext(1, { kind: 'status', status: 429, retryAfter: '120' });
    const started = Date.now();
    const err = await rejection(lunipay.customers.list());
    assert.ok(err instanceof RateLimitError);
    assert.equal(err.retryAfter, 120);
    assert.equal(server.attempts.length, 1);
    assert.ok(Date.now() - started < 1000);
  });

  it('GETs are retried on 5xx, 429 and resets alike', async () => {
    const key = freshKey();
    const [c] = api.seed(key, 1);
    const lunipay = clientFor(server, key, { maxRetries: 3 });
    server.reset();
    server
      .failNext(1, { kind: 'status', status: 500 })
      .failNext(1, { kind: 'status', status: 429, retryAfter: '0' })
      .failNext(1, { kind: 'reset' });
    const got = await lunipay.customers.retrieve(c?.id ?? '');
    assert.equal(got.id, c?.id);
    assert.equal(server.attempts.length, 4);
  });

  it('4xx other than 409/429 are not retried', async () => {
    const lunipay = clientFor(server, freshKey());
    for (const [status, cls] of [
      [400, InvalidRequestError],
      [404, InvalidRequestError],
    ] as const) {
      server.reset();
      const err = await rejection(
        status === 400
          ? lunipay.customers.create({ email: 'nope' })
          : lunipay.customers.retrieve('cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY'),
      );
      assert.ok(err instanceof cls);
      assert.equal(server.attempts.length, 1);
    }
    server.reset();
    await lunipay.customers.create({ email: 'i@example.com' }, { idempotencyKey: 'dup' });
    const err = await rejection(
      lunipay.customers.create({ email: 'j@example.com' }, { idempotencyKey: 'dup' }),
    );
    assert.ok(err instanceof IdempotencyError);
    assert.equal(server.attempts.length, 2);
  });

  it('backoff doubles from retryDelayMs, is capped at maxRetryDelayMs, and is jittered within [ceiling/2, ceiling]', () => {
    const s = { retryDelayMs: 500, maxRetryDelayMs: 5000 };
    assert.equal(
      backoffDelayMs(1, s, () => 0),
      250,
    );
    assert.equal(
      backoffDelayMs(1, s, () => 1),
      500,
    );
    assert.equal(
      backoffDelayMs(2, s, () => 1),
      1000,
    );
    assert.equal(
      backoffDelayMs(3, s, () => 1),
      2000,
    );
    assert.equal(
      backoffDelayMs(4, s, () => 1),
      4000,
    );
    assert.equal(
      backoffDelayMs(5, s, () => 1),
      5000,
    );
    assert.equal(
      backoffDelayMs(9, s, () => 0),
      2500,
    );
    const samples = new Set(Array.from({ length: 50 }, () => backoffDelayMs(2, s)));
    assert.ok(samples.size > 40, 'jittered');
    for (const d of samples) assert.ok(d >= 500 && d <= 1000);
  });

  it('waits between attempts with exponential backoff (observed on the server)', async () => {
    const lunipay = clientFor(server, freshKey(), {
      retryDelayMs: 100,
      maxRetryDelayMs: 10_000,
      maxRetries: 3,
    });
    server.reset();
    server.failNext(3, { kind: 'status', status: 503 });
    await lunipay.customers.list();
    const at = server.attempts.map((a) => a.at);
    const gaps = at.slice(1).map((t, i) => t - (at[i] ?? 0));
    // ceilings 100, 200, 400 → gaps within [50,100], [100,200], [200,400] (+ scheduling slack)
    assert.ok((gaps[0] ?? 0) >= 45 && (gaps[0] ?? 0) <= 180, `gaps ${gaps}`);
    assert.ok((gaps[1] ?? 0) >= 95 && (gaps[1] ?? 0) <= 280, `gaps ${gaps}`);
    assert.ok((gaps[2] ?? 0) >= 195 && (gaps[2] ?? 0) <= 480, `gaps ${gaps}`);
  });
});
