/**
 * Integration tests against a REAL LuniPay server. Skipped unless both are set:
 *
 *   LUNIPAY_SDK_TEST_BASE_URL   e.g. http://127.0.0.1:4242
 *   LUNIPAY_SDK_TEST_KEY        a test-mode secret key of a throwaway account (sk_test_…)
 *
 * Optional:
 *
 *   LUNIPAY_SDK_TEST_RATE_LIMIT the server's LUNIPAY_RATE_LIMIT (requests/s per key), when it is
 *                               small (say 5–50): the test then provokes a real 429. Unset: that
 *                               case is skipped, since the default limit (1000/s) is not reached
 *                               without a load test.
 *
 * How to run, from the repository root (once the server exists):
 *
 *   npm run build && npm run --silent cli -- accounts create --name sdk-tests --json   # → keys.test
 *   PORT=4242 npm start &
 *   cd sdk && LUNIPAY_SDK_TEST_BASE_URL=http://127.0.0.1:4242 LUNIPAY_SDK_TEST_KEY=sk_test_… npm run test:live
 *
 * Everything it creates carries a per-run tag in its email and metadata and is deleted at the end.
 * Network faults (503, 429, resets after the server acted, slowness) are injected by a proxy in
 * front of the real server (fault-proxy.ts), so retries and idempotency are checked end to end.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  APIError,
  AuthenticationError,
  ConnectionError,
  type Customer,
  IdempotencyError,
  InvalidRequestError,
  LuniPay,
  LuniPayError,
  RateLimitError,
  TimeoutError,
} from '../src/index.js';
import { startFaultProxy } from './fault-proxy.js';
import type { FaultyServer } from './fault-server.js';
import { closedPort, rejection } from './helpers.js';

const BASE_URL = process.env.LUNIPAY_SDK_TEST_BASE_URL;
const KEY = process.env.LUNIPAY_SDK_TEST_KEY;
const RATE_LIMIT = Number(process.env.LUNIPAY_SDK_TEST_RATE_LIMIT ?? '0');
const skip =
  BASE_URL && KEY
    ? false
    : 'set LUNIPAY_SDK_TEST_BASE_URL and LUNIPAY_SDK_TEST_KEY to run against a real server';

const RUN = `sdk${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
const MANY = 260; // autopagination: a few hundred customers
const SHARED_EVERY = 4; // every 4th shares one email, for the filtered walk
const REQUEST_ID = /^req_[0-9A-HJKMNP-TV-Z]{26}$/;
const CUSTOMER_ID = /^cus_[0-9A-HJKMNP-TV-Z]{26}$/;

/** Runs `fn` over `items` with at most `concurrency` in flight. */
async function pool<T, R>(
  items: T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i] as T, i);
      }
    }),
  );
  return results;
}

describe('live server', { skip }, () => {
  let lunipay: LuniPay;
  const created = new Set<string>();
  const track = (c: Customer): Customer => {
    created.add(c.id);
    return c;
  };

  before(() => {
    lunipay = new LuniPay(KEY as string, { baseUrl: BASE_URL as string });
  });

  after(async () => {
    // clean up whatever is left; a 404 means a test already deleted it
    await pool([...created], 8, (id) => lunipay.customers.del(id).catch(() => undefined));
  });

  describe('every method', () => {
    let ada: Customer;

    it('create', async () => {
      ada = track(
        await lunipay.customers.create({
          email: `ada-${RUN}@example.com`,
          first_name: 'Ada',
          last_name: 'Lovelace',
          phone: '+18765551234',
          company_name: 'Analytical Engines Ltd.',
          notes: 'VIP — priority support',
          metadata: { internal_id: 'ACCT-42', run: RUN },
        }),
      );
      assert.match(ada.id, CUSTOMER_ID);
      assert.equal(ada.object, 'customer');
      assert.equal(ada.livemode, false);
      assert.equal(ada.email, `ada-${RUN}@example.com`);
      assert.deepEqual(ada.metadata, { internal_id: 'ACCT-42', run: RUN });
      assert.equal(typeof ada.created, 'number');
      assert.equal(typeof ada.updated, 'number');
    });

    it('retrieve', async () => {
      assert.deepEqual(await lunipay.customers.retrieve(ada.id), ada);
    });

    it('update: a subset; null clears; metadata merges', async () => {
      const updated = await lunipay.customers.update(ada.id, {
        phone: null,
        metadata: { plan: 'pro', internal_id: null },
      });
      assert.equal(updated.id, ada.id);
      assert.equal(updated.phone, null);
      assert.equal(updated.first_name, 'Ada');
      assert.deepEqual(updated.metadata, { run: RUN, plan: 'pro' });
      assert.deepEqual(await lunipay.customers.update(ada.id, {}), updated);
    });

    it('list: one page, awaited', async () => {
      const page = await lunipay.customers.list({ email: `ADA-${RUN}@EXAMPLE.COM`, limit: 5 });
      assert.equal(page.object, 'list');
      assert.equal(page.url, '/v1/customers');
      assert.equal(page.has_more, false);
      assert.deepEqual(
        page.data.map((c) => c.id),
        [ada.id],
      );
    });

    it('del, then 404', async () => {
      const deleted = await lunipay.customers.del(ada.id);
      assert.deepEqual(deleted, { id: ada.id, object: 'customer', deleted: true });
      created.delete(ada.id);
      const err = await rejection(lunipay.customers.retrieve(ada.id));
      assert.ok(err instanceof InvalidRequestError);
      assert.equal(err.code, 'resource_missing');
      assert.equal(err.status, 404);
      assert.equal(err.param, 'id');
    });
  });

  describe(`autopagination over ${MANY} customers`, () => {
    let mine: Customer[] = []; // in creation order, oldest first
    const sharedEmail = `shared-${RUN}@example.com`;

    before(async () => {
      // created one after another so that creation order = id order even across server processes
      mine = [];
      for (let i = 0; i < MANY; i++) {
        const email = i % SHARED_EVERY === 0 ? sharedEmail : `c${i}-${RUN}@example.com`;
        mine.push(track(await lunipay.customers.create({ email, metadata: { run: RUN, i: String(i) } })));
      }
    });

    it('without a filter: every customer, newest first, no duplicates, ours all there in order', async () => {
      const seen: string[] = [];
      for await (const c of lunipay.customers.list({ limit: 100 })) seen.push(c.id);
      assert.equal(new Set(seen).size, seen.length, 'no duplicates');
      for (let i = 1; i < seen.length; i++)
        assert.ok((seen[i - 1] as string) > (seen[i] as string), 'strictly newest first');
      const ours = new Set(mine.map((c) => c.id));
      assert.deepEqual(
        seen.filter((id) => ours.has(id)),
        mine.map((c) => c.id).reverse(),
      );
    });

    it('with a created filter and small pages', async () => {
      const since = (mine[0] as Customer).created;
      const seen: string[] = [];
      for await (const c of lunipay.customers.list({ limit: 37, created: { gte: since } })) seen.push(c.id);
      const ours = new Set(mine.map((c) => c.id));
      assert.deepEqual(
        seen.filter((id) => ours.has(id)),
        mine.map((c) => c.id).reverse(),
      );
    });

    it('with an email filter (case-insensitive), across several pages', async () => {
      const expected = mine.filter((_, i) => i % SHARED_EVERY === 0).map((c) => c.id);
      const seen: string[] = [];
      for await (const c of lunipay.customers.list({ email: sharedEmail.toUpperCase(), limit: 20 }))
        seen.push(c.id);
      assert.equal(expected.length, Math.ceil(MANY / SHARED_EVERY));
      assert.deepEqual(seen, expected.reverse());
    });

    it('backwards from ending_before, oldest to newest', async () => {
      const first = mine[0] as Customer;
      const seen: string[] = [];
      for await (const c of lunipay.customers.list({ ending_before: first.id, limit: 50 })) seen.push(c.id);
      const ours = new Set(mine.map((c) => c.id));
      assert.deepEqual(
        seen.filter((id) => ours.has(id)),
        mine.slice(1).map((c) => c.id),
      );
    });

    it('toArray and early break', async () => {
      const ten = await lunipay.customers.list({ email: sharedEmail, limit: 3 }).toArray({ max: 10 });
      assert.equal(ten.length, 10);
      let n = 0;
      for await (const _ of lunipay.customers.list({ limit: 5 })) if (++n === 7) break;
      assert.equal(n, 7);
    });
  });

  describe('each error class', () => {
    it('InvalidRequestError (parameter_missing, parameter_invalid, parameters_exclusive, resource_missing)', async () => {
      const missing = await rejection(lunipay.customers.create({} as { email: string }));
      assert.ok(missing instanceof InvalidRequestError);
      assert.equal(missing.code, 'parameter_missing');
      assert.equal(missing.param, 'email');
      assert.equal(missing.status, 400);
      assert.match(missing.requestId ?? '', REQUEST_ID);

      const bad = await rejection(lunipay.customers.create({ email: 'no-at-sign' }));
      assert.ok(bad instanceof InvalidRequestError);
      assert.equal(bad.code, 'parameter_invalid');
      assert.equal(bad.param, 'email');

      const managed = await rejection(
        lunipay.customers.create({ email: `x-${RUN}@example.com`, stripe_customer_id: 'cus_X' } as {
          email: string;
        }),
      );
      assert.ok(managed instanceof InvalidRequestError);
      assert.equal(managed.code, 'parameter_unknown');

      const id = 'cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY';
      const both = await rejection(lunipay.customers.list({ starting_after: id, ending_before: id }));
      assert.ok(both instanceof InvalidRequestError);
      assert.equal(both.code, 'parameters_exclusive');

      const cursor = await rejection(lunipay.customers.list({ starting_after: 'nope' }));
      assert.ok(cursor instanceof InvalidRequestError);
      assert.equal(cursor.code, 'parameter_invalid');

      const gone = await rejection(lunipay.customers.retrieve(id));
      assert.ok(gone instanceof InvalidRequestError);
      assert.equal(gone.code, 'resource_missing');
      assert.equal(gone.status, 404);
    });

    it('AuthenticationError (api_key_invalid), with a Request-Id', async () => {
      const stranger = new LuniPay(`sk_test_${'x'.repeat(32)}`, { baseUrl: BASE_URL as string });
      const err = await rejection(stranger.customers.list());
      assert.ok(err instanceof AuthenticationError);
      assert.equal(err.code, 'api_key_invalid');
      assert.equal(err.status, 401);
      assert.match(err.requestId ?? '', REQUEST_ID);
      assert.ok(!err.message.includes('x'.repeat(32)), 'the message does not echo the key');
    });

    it('IdempotencyError (same key, different parameters)', async () => {
      const key = `${RUN}-idem`;
      track(await lunipay.customers.create({ email: `idem-${RUN}@example.com` }, { idempotencyKey: key }));
      const err = await rejection(
        lunipay.customers.create({ email: `other-${RUN}@example.com` }, { idempotencyKey: key }),
      );
      assert.ok(err instanceof IdempotencyError);
      assert.equal(err.code, 'idempotency_key_reused');
      assert.equal(err.status, 400);
    });

    it('RateLimitError (429 with Retry-After) from the real limiter', {
      skip:
        RATE_LIMIT > 0 ? false : 'set LUNIPAY_SDK_TEST_RATE_LIMIT to the server’s (small) LUNIPAY_RATE_LIMIT',
    }, async () => {
      const noRetry = new LuniPay(KEY as string, { baseUrl: BASE_URL as string, maxRetries: 0 });
      const burst = Math.min(2000, RATE_LIMIT * 3 + 10);
      const results = await Promise.allSettled(
        Array.from({ length: burst }, () => noRetry.customers.list({ limit: 1 })),
      );
      const limited = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
      assert.ok(limited.length > 0, `no 429 in a burst of ${burst}`);
      for (const err of limited) {
        assert.ok(err instanceof RateLimitError, String(err));
        assert.equal(err.status, 429);
        assert.equal(err.code, 'rate_limited');
        assert.ok(err.retryAfter !== undefined, 'Retry-After is set');
      }
      // with retries on, the SDK waits out Retry-After and gets through
      await new Promise((r) => setTimeout(r, 1100));
      const again = await Promise.all(
        Array.from({ length: RATE_LIMIT + 2 }, () => lunipay.customers.list({ limit: 1 })),
      );
      assert.equal(again.length, RATE_LIMIT + 2);
    });

    it('ConnectionError when nothing listens', async () => {
      const nowhere = new LuniPay(KEY as string, {
        baseUrl: `http://127.0.0.1:${await closedPort()}`,
        maxRetries: 0,
      });
      const err = await rejection(nowhere.customers.list());
      assert.ok(err instanceof ConnectionError);
      assert.equal(err.status, undefined);
    });
  });

  describe('through a fault-injecting proxy', () => {
    let proxy: FaultyServer;
    let viaProxy: LuniPay;

    before(async () => {
      proxy = await startFaultProxy(BASE_URL as string);
      viaProxy = new LuniPay(KEY as string, { baseUrl: proxy.url, retryDelayMs: 20, maxRetryDelayMs: 100 });
    });
    after(() => proxy.close());

    const countByEmail = async (email: string): Promise<number> =>
      (await lunipay.customers.list({ email, limit: 10 })).data.length;

    it('503, 503, then success: one customer, one Idempotency-Key on all three attempts', async () => {
      proxy.reset();
      proxy.failNext(2, { kind: 'status', status: 503 });
      const email = `retry503-${RUN}@example.com`;
      track(await viaProxy.customers.create({ email }));
      assert.equal(proxy.attempts.length, 3);
      assert.equal(new Set(proxy.attempts.map((a) => a.idempotencyKey)).size, 1);
      assert.equal(await countByEmail(email), 1);
    });

    it('the answer is lost after the server created the customer: the retry is replayed by the server', async () => {
      proxy.reset();
      proxy.failNext(1, { kind: 'reset-after' });
      const email = `lost-${RUN}@example.com`;
      const c = track(await viaProxy.customers.create({ email }));
      assert.equal(proxy.attempts.length, 2);
      assert.equal(proxy.attempts[0]?.status, 200);
      assert.equal(proxy.attempts[1]?.replayed, true, 'Idempotent-Replayed: true');
      assert.equal(new Set(proxy.attempts.map((a) => a.idempotencyKey)).size, 1);
      assert.equal(await countByEmail(email), 1);

      proxy.reset();
      proxy.failNext(1, { kind: 'reset-after' });
      const u = await viaProxy.customers.update(c.id, { first_name: 'Replayed' });
      assert.equal(u.first_name, 'Replayed');
      assert.equal(proxy.attempts[1]?.replayed, true);

      proxy.reset();
      proxy.failNext(1, { kind: 'reset-after' });
      const d = await viaProxy.customers.del(c.id);
      created.delete(c.id);
      assert.equal(d.deleted, true);
      assert.equal(proxy.attempts.length, 2);
    });

    it('429 with Retry-After: 1 is waited out', async () => {
      proxy.reset();
      proxy.failNext(1, { kind: 'status', status: 429, retryAfter: '1' });
      await viaProxy.customers.list({ limit: 1 });
      const waited = (proxy.attempts[1]?.at ?? 0) - (proxy.attempts[0]?.at ?? 0);
      assert.ok(waited >= 950, `waited ${waited} ms`);
    });

    it('APIError after the retries (5xx every time)', async () => {
      proxy.reset();
      proxy.failNext(3, { kind: 'status', status: 503 });
      const err = await rejection(viaProxy.customers.list());
      assert.ok(err instanceof APIError);
      assert.ok(err instanceof LuniPayError);
      assert.equal(err.status, 503);
      assert.equal(proxy.attempts.length, 3);
    });

    it('TimeoutError, and a timed-out create retried with the same key makes one customer', async () => {
      proxy.reset();
      proxy.slowMs = 1000;
      const slow = new LuniPay(KEY as string, { baseUrl: proxy.url, timeoutMs: 200, maxRetries: 0 });
      const err = await rejection(slow.customers.list());
      assert.ok(err instanceof TimeoutError);
      assert.ok(err instanceof ConnectionError);
      await new Promise((r) => setTimeout(r, 1000)); // let the proxy finish the abandoned request

      proxy.reset();
      proxy.failNext(1, { kind: 'delay', ms: 400 });
      const email = `timeout-${RUN}@example.com`;
      const patient = new LuniPay(KEY as string, {
        baseUrl: proxy.url,
        timeoutMs: 200,
        maxRetries: 4,
        retryDelayMs: 300,
      });
      track(await patient.customers.create({ email }));
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(new Set(proxy.attempts.map((a) => a.idempotencyKey)).size, 1);
      assert.equal(await countByEmail(email), 1);
    });
  });
});
