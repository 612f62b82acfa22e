import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import * as accounts from '../src/accounts/accounts.service.js';
import { type DialectName, type FreshDatabase, forEachDatabase, freshDatabase } from './helpers/harness.js';
import { type ServerProcess, startServer } from './helpers/processes.js';
import { connectRedis, inOneWindow, REDIS_URL } from './helpers/rate-limit.js';

/**
 * One rate limit shared by two server processes through Redis, as deployed: one key, its requests
 * split between the processes, exactly the limit passes in each window. Counted apart, each
 * process would let the limit through.
 */

const LIMIT = 25;
const BURST = 80;

forEachDatabase(
  'two server processes on one database share one rate limit through Redis',
  (dialect: DialectName) => {
    let redis: Redis;
    let fresh: FreshDatabase;
    let servers: ServerProcess[] = [];
    before(async () => {
      redis = await connectRedis();
      fresh = await freshDatabase(dialect);
      const env = {
        LUNIPAY_DATABASE_URL: fresh.url,
        LUNIPAY_REDIS_URL: REDIS_URL,
        LUNIPAY_RATE_LIMIT: String(LIMIT),
      };
      servers = await Promise.all([startServer(env), startServer(env)]);
    });
    after(async () => {
      await Promise.all(servers.map((s) => s.kill('SIGTERM')));
      await fresh?.drop();
      redis?.disconnect();
    });

    test(`one key, requests split between the processes: ${LIMIT} pass per window in all`, async (t) => {
      const burst = (key: string) =>
        Promise.all(
          Array.from({ length: BURST }, async (_, i) => {
            const server = servers[i % 2] as ServerProcess;
            const res = await fetch(`${server.url}/v1/customers?limit=1`, {
              headers: { authorization: `Bearer ${key}` },
            });
            return {
              server: i % 2,
              status: res.status,
              retryAfter: res.headers.get('retry-after'),
              body: await res.json(),
            };
          }),
        );
      const newKey = async () =>
        (await accounts.createAccount(fresh.db, { name: 'Limit shop', stripeAccountId: null })).keys.test
          .secret;
      let key = '';
      const rounds: string[] = [];
      // The same key twice: a second window opens once the first has expired, and counts alike.
      for (const freshKey of [newKey, () => sleep(1100).then(() => key)]) {
        const results = await inOneWindow(freshKey, async (k) => {
          key = k;
          return burst(k);
        });
        const passed = results.filter((r) => r.status === 200);
        const limited = results.filter((r) => r.status === 429);
        assert.equal(passed.length + limited.length, BURST, results.map((r) => r.status).join(','));
        for (const r of limited) {
          assert.equal(r.body.error.type, 'rate_limit_error');
          assert.equal(r.body.error.code, 'rate_limited');
          assert.match(String(r.retryAfter), /^[1-9][0-9]*$/);
        }
        // Each process got 40 requests: counted apart, 2 × LIMIT would pass; counted together, LIMIT.
        assert.equal(passed.length, LIMIT, `${passed.length} of ${BURST} passed in one window`);
        rounds.push(
          `${passed.length} passed (${passed.filter((r) => r.server === 0).length} + ${passed.filter((r) => r.server === 1).length}), ` +
            `${limited.length} limited`,
        );
      }
      t.diagnostic(
        `${dialect}: limit ${LIMIT}/s, ${BURST} requests per window over 2 processes: ${rounds.join('; ')}`,
      );
    });
  },
);
