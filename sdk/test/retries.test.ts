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
import { MISSING_ID, startCanned } from './canned.js';
import type { FaultyServer } from './fault-server.js';
import { clientFor, KEY, rejection } from './helpers.js';

/**
 * How the client retries, against injected faults and canned answers. That the server's
 * idempotency makes those retries safe (one customer, replays) is tested against the real server:
 * test/sdk/retries.system.test.ts in the repository.
 */

let server: FaultyServer;
before(async () => {
  server = await startCanned();
});
after(() => server.close());

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const keysOf = (s: FaultyServer): (string | undefined)[] => s.attempts.map((a) => a.idempotencyKey);

describe('idempotency keys', () => {
  it('every write gets a fresh random UUID key; GETs get none', async () => {
    const lunipay = clientFor(server, KEY);
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
});

describe('retries', () => {
  it('a create failing twice with 503 is retried with the SAME key and succeeds (default maxRetries = 2)', async () => {
    const lunipay = clientFor(server, KEY);
    server.reset();
    server.failNext(2, { kind: 'status', status: 503 });
    const c = await lunipay.customers.create({ email: 'retry@example.com' });
    assert.equal(c.email, 'retry@example.com');
    assert.equal(server.attempts.length, 3);
    const keys = keysOf(server);
    assert.match(keys[0] ?? '', UUID);
    assert.deepEqual(keys, [keys[0], keys[0], keys[0]]);
  });

  it('gives up after maxRetries + 1 attempts and throws the last error', async () => {
    const lunipay = clientFor(server, KEY);
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
    await rejection(clientFor(server, KEY, { maxRetries: 4 }).customers.list());
    assert.equal(server.attempts.length, 5);
    server.reset();
    server.failNext(10, { kind: 'status', status: 500 });
    await rejection(clientFor(server, KEY, { maxRetries: 4 }).customers.list({}, { maxRetries: 0 }));
    assert.equal(server.attempts.length, 1);
    server.reset();
    server.failNext(10, { kind: 'status', status: 500 });
    await rejection(clientFor(server, KEY, { maxRetries: 0 }).customers.create({ email: 'z@example.com' }));
    assert.equal(server.attempts.length, 1);
  });

  it('a connection reset before the server acted is retried with the same key', async () => {
    const lunipay = clientFor(server, KEY);
    server.reset();
    server.failNext(2, { kind: 'reset' });
    const c = await lunipay.customers.create({ email: 'reset@example.com' });
    assert.equal(server.attempts.length, 3);
    assert.equal(new Set(keysOf(server)).size, 1);
    assert.equal((await lunipay.customers.retrieve(c.id)).id, c.id);
  });

  it('a connection reset on the last attempt → ConnectionError', async () => {
    const lunipay = clientFor(server, KEY, { maxRetries: 1 });
    server.reset();
    server.failNext(2, { kind: 'reset' });
    const err = await rejection(lunipay.customers.retrieve('cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY'));
    assert.ok(err instanceof ConnectionError);
    assert.equal(server.attempts.length, 2);
  });

  it('409 idempotency_key_in_use is retried (same key) until the first request has finished', async () => {
    const lunipay = clientFor(server, KEY);
    server.reset();
    server.failNext(1, { kind: 'status', status: 409 });
    await lunipay.customers.create({ email: 'c409@example.com' });
    assert.equal(server.attempts.length, 2);
    assert.equal(new Set(keysOf(server)).size, 1);
  });

  it('429 waits for Retry-After (seconds) before retrying', async () => {
    const lunipay = clientFor(server, KEY);
    server.reset();
    server.failNext(1, { kind: 'status', status: 429, retryAfter: '1' });
    const started = Date.now();
    await lunipay.customers.list();
    const waited = (server.attempts[1]?.at ?? 0) - (server.attempts[0]?.at ?? 0);
    assert.ok(waited >= 950, `waited ${waited} ms`);
    assert.ok(Date.now() - started < 3000);
  });

  it('Retry-After as an HTTP date is honoured too', async () => {
    const lunipay = clientFor(server, KEY);
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
    const lunipay = clientFor(server, KEY, { maxRetryAfterMs: 5_000 });
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
    const id = 'cus_01JS0000000000000000000001';
    const lunipay = clientFor(server, KEY, { maxRetries: 3 });
    server.reset();
    server
      .failNext(1, { kind: 'status', status: 500 })
      .failNext(1, { kind: 'status', status: 429, retryAfter: '0' })
      .failNext(1, { kind: 'reset' });
    const got = await lunipay.customers.retrieve(id);
    assert.equal(got.id, id);
    assert.equal(server.attempts.length, 4);
  });

  it('4xx other than 409/429 are not retried', async () => {
    const lunipay = clientFor(server, KEY);
    const refuse = (type: string, code: string) =>
      server.failNext(1, { kind: 'status', status: 400, body: { error: { type, code, message: 'x' } } });
    const cases = [
      [() => lunipay.customers.retrieve(MISSING_ID), InvalidRequestError],
      [
        () => {
          refuse('invalid_request_error', 'parameter_invalid');
          return lunipay.customers.create({ email: 'nope' });
        },
        InvalidRequestError,
      ],
      [
        () => {
          refuse('idempotency_error', 'idempotency_key_reused');
          return lunipay.customers.create({ email: 'j@example.com' }, { idempotencyKey: 'dup' });
        },
        IdempotencyError,
      ],
    ] as const;
    for (const [call, cls] of cases) {
      server.reset();
      const err = await rejection(call());
      assert.ok(err instanceof cls, String(err));
      assert.equal(server.attempts.length, 1);
    }
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
    const lunipay = clientFor(server, KEY, {
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
