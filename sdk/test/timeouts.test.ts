import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TimeoutError } from '../src/index.js';
import { PAGES, startCanned } from './canned.js';
import type { FaultyServer } from './fault-server.js';
import { clientFor, KEY, rejection } from './helpers.js';

let server: FaultyServer;
before(async () => {
  server = await startCanned();
});
after(() => server.close());

describe('timeouts and cancellation', () => {
  it('a slow answer → TimeoutError after about timeoutMs', async () => {
    const lunipay = clientFor(server, KEY, { timeoutMs: 150, maxRetries: 0 });
    server.reset();
    server.slowMs = 1000;
    const started = Date.now();
    const err = await rejection(lunipay.customers.list());
    const took = Date.now() - started;
    assert.ok(err instanceof TimeoutError);
    assert.match(err.message, /150 ms/);
    assert.ok(took >= 140 && took < 700, `took ${took} ms`);
  });

  it('timeouts are retried; every attempt gets its own timeout', async () => {
    const lunipay = clientFor(server, KEY, { timeoutMs: 100, maxRetries: 2 });
    server.reset();
    server.slowMs = 1000;
    const started = Date.now();
    const err = await rejection(lunipay.customers.list());
    assert.ok(err instanceof TimeoutError);
    assert.equal(server.attempts.length, 3);
    assert.ok(Date.now() - started >= 300);
  });

  it('a timed-out attempt followed by a fast one succeeds', async () => {
    const lunipay = clientFor(server, KEY, { timeoutMs: 100 });
    server.reset();
    server.failNext(1, { kind: 'delay', ms: 800 });
    const page = await lunipay.customers.list();
    assert.deepEqual(page, PAGES[0]);
    assert.equal(server.attempts.length, 2);
  });

  it('timeoutMs can be set per call', async () => {
    const lunipay = clientFor(server, KEY, { timeoutMs: 10_000, maxRetries: 0 });
    server.reset();
    server.slowMs = 1000;
    const started = Date.now();
    const err = await rejection(lunipay.customers.list({}, { timeoutMs: 80 }));
    assert.ok(err instanceof TimeoutError);
    assert.ok(Date.now() - started < 600);
  });

  it('an AbortSignal cancels the call, during an attempt or during a backoff, and it is not retried', async () => {
    const lunipay = clientFor(server, KEY, { retryDelayMs: 5_000, maxRetryDelayMs: 5_000 });
    server.reset();
    server.slowMs = 1000;
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('user gave up')), 50);
    const err = await rejection(lunipay.customers.list({}, { signal: controller.signal }));
    assert.ok(err instanceof Error);
    assert.equal(err.message, 'user gave up');
    assert.equal(server.attempts.length, 1);

    server.reset();
    server.failNext(1, { kind: 'status', status: 503 });
    const c2 = new AbortController();
    const started = Date.now();
    setTimeout(() => c2.abort(), 100);
    const err2 = await rejection(lunipay.customers.list({}, { signal: c2.signal }));
    assert.equal((err2 as Error).name, 'AbortError');
    assert.ok(Date.now() - started < 2000, 'did not sit out the 5 s backoff');
    assert.equal(server.attempts.length, 1);

    const c3 = new AbortController();
    c3.abort();
    await assert.rejects(lunipay.customers.list({}, { signal: c3.signal }), { name: 'AbortError' });
  });
});
