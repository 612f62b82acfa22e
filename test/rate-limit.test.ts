import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { forEachDatabase, startHarness, useHarness } from './helpers/harness.js';
import { connectRedis, inOneWindow } from './helpers/rate-limit.js';

forEachDatabase('rate limiting per API key', (dialect) => {
  const { h } = useHarness(dialect, { LUNIPAY_RATE_LIMIT: '5' });

  test('over the limit: 429 rate_limit_error with Retry-After; other keys unaffected; then allowed again', async () => {
    // A new account's key, so its one-second window opens with the first of these requests.
    const { acct, statuses, limited } = await inOneWindow(
      () => h.account(),
      async (acct) => {
        const statuses: number[] = [];
        let limited: { body: any; headers: Record<string, unknown> } | undefined;
        for (let i = 0; i < 8; i++) {
          const res = await h.request('GET', '/v1/customers', { key: acct.test });
          statuses.push(res.status);
          if (res.status === 429) limited ??= res;
        }
        return { acct, statuses, limited };
      },
    );
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429, 429, 429]);
    assert.ok(limited);
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

forEachDatabase('two apps on one database share one limit through Redis', (dialect) => {
  test('one key, requests split between the apps: exactly the limit passes in a window', async () => {
    const redis = await connectRedis();
    const h = await startHarness(dialect);
    const config = { ...h.config, rateLimit: 10 };
    const apps = [await buildApp({ config, db: h.db, redis }), await buildApp({ config, db: h.db, redis })];
    try {
      const results = await inOneWindow(
        async () => (await h.account()).test,
        (key) =>
          Promise.all(
            Array.from({ length: 30 }, (_, i) =>
              (apps[i % 2] as (typeof apps)[0]).inject({
                method: 'GET',
                url: '/v1/customers',
                headers: { authorization: `Bearer ${key}` },
              }),
            ),
          ),
      );
      const ok = results.filter((r) => r.statusCode === 200).length;
      const limited = results.filter((r) => r.statusCode === 429);
      assert.equal(ok + limited.length, 30, results.map((r) => r.statusCode).join());
      // Each app got 15: counted apart, 20 would pass (10 in each); counted together, 10.
      assert.equal(ok, 10, `${ok} of 30 passed a limit of 10 shared by two apps`);
      for (const r of limited) assert.equal(r.json().error.code, 'rate_limited');
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
