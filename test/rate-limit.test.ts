import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { forEachDatabase, startHarness, useHarness } from './helpers/harness.js';

const REDIS_URL = process.env.LUNIPAY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

forEachDatabase('rate limiting per API key', (dialect) => {
  const { h, acct } = useHarness(dialect, { LUNIPAY_RATE_LIMIT: '5' });

  test('over the limit: 429 rate_limit_error with Retry-After; other keys unaffected; then allowed again', async () => {
    // Start at the beginning of a fresh one-second window for this key.
    const statuses: number[] = [];
    let limited: { body: any; headers: Record<string, unknown> } | undefined;
    for (let i = 0; i < 8; i++) {
      const res = await h.request('GET', '/v1/customers', { key: acct.test });
      statuses.push(res.status);
      if (res.status === 429) limited ??= res;
    }
    assert.ok(statuses.filter((s) => s === 200).length >= 5, statuses.join());
    assert.ok(limited, `some request was limited: ${statuses.join()}`);
    assert.deepEqual(limited.body.error.type, 'rate_limit_error');
    assert.deepEqual(limited.body.error.code, 'rate_limited');
    assert.match(String(limited.headers['retry-after']), /^[1-9][0-9]*$/);
    assert.equal(
      (await h.request('GET', '/v1/customers', { key: acct.live })).status,
      200,
      'the live key has its own count',
    );
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal((await h.request('GET', '/v1/customers', { key: acct.test })).status, 200);
  });

  test('routes that need no key are not limited', async () => {
    for (let i = 0; i < 20; i++) assert.equal((await h.request('GET', '/healthz')).status, 200);
  });
});

test('LUNIPAY_RATE_LIMIT=0 turns limiting off', async () => {
  const h = await startHarness('sqlite', { LUNIPAY_RATE_LIMIT: '0' });
  try {
    const acct = await h.account();
    for (let i = 0; i < 50; i++)
      assert.equal((await h.request('GET', '/v1/customers', { key: acct.test })).status, 200);
  } finally {
    await h.close();
  }
});

forEachDatabase('two servers on one database share one limit through Redis', (dialect) => {
  test('the count is shared', async () => {
    const h = await startHarness(dialect);
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    const config = { ...h.config, rateLimit: 10 };
    const apps = [await buildApp({ config, db: h.db, redis }), await buildApp({ config, db: h.db, redis })];
    try {
      const acct = await h.account();
      const headers = { authorization: `Bearer ${acct.test}` };
      // Wait for the start of a second so all 30 requests land in one window.
      await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000)));
      const results = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          (apps[i % 2] as (typeof apps)[0]).inject({ method: 'GET', url: '/v1/customers', headers }),
        ),
      );
      const ok = results.filter((r) => r.statusCode === 200).length;
      const limited = results.filter((r) => r.statusCode === 429).length;
      assert.equal(ok + limited, 30);
      assert.ok(
        ok <= 20 && ok >= 10,
        `10 per second across both servers (one window may straddle two): ${ok} passed`,
      );
      assert.ok(limited >= 10);
    } finally {
      for (const app of apps) await app.close();
      redis.disconnect();
      await h.close();
    }
  });
});

test('the configuration refuses a Redis URL that is not one', () => {
  assert.throws(() => loadConfig({ LUNIPAY_REDIS_URL: 'http://x' }), /LUNIPAY_REDIS_URL/);
});
