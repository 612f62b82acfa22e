/**
 * The SDK (sdk/, imported from its TypeScript source so that no build is needed) against a REAL
 * server process on a temporary SQLite file: every method, autopagination, the error classes as
 * the server really produces them, retries and timeouts through a fault-injecting proxy.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  AuthenticationError,
  ConnectionError,
  type Customer,
  InvalidRequestError,
  LuniPay,
  TimeoutError,
} from '../sdk/src/index.js';
import { startFaultProxy } from '../sdk/test/fault-proxy.js';
import type { FaultyServer } from '../sdk/test/fault-server.js';
import { runCli, type ServerProcess, startServer } from './helpers/processes.js';

const MANY = 300; // "a few hundred": three full pages of 100
const SHARED_EVERY = 3; // every 3rd customer shares one email, for the filtered walks
const REQUEST_ID = /^req_[0-9A-HJKMNP-TV-Z]{26}$/;
const MISSING_ID = 'cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY';

let dir: string;
let server: ServerProcess;
let key: string; // account used by every test but the pagination ones
let lunipay: LuniPay;
let pages: LuniPay; // a second account holding exactly the MANY customers, so walks are exact
let pageRequests = 0;

async function account(env: Record<string, string>, name: string): Promise<string> {
  const res = await runCli(['accounts', 'create', '--name', name, '--json'], env);
  assert.equal(res.code, 0, res.stderr);
  return JSON.parse(res.stdout).keys.test;
}

/** Runs `fn` over `items` with at most `concurrency` in flight (quick, without flooding SQLite). */
async function pool<T, R>(items: T[], concurrency: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results;
}

async function rejection(promise: PromiseLike<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

const countByEmail = async (email: string) =>
  (await lunipay.customers.list({ email, limit: 10 })).data.length;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lunipay-sdk-'));
  const env = { LUNIPAY_DATABASE_URL: `sqlite:${join(dir, 'sdk.sqlite')}` };
  // One after the other: two CLI processes migrating the same new file at once would contend.
  key = await account(env, 'SDK');
  const pagesKey = await account(env, 'SDK pages');
  server = await startServer(env);
  lunipay = new LuniPay(key, { baseUrl: server.url });
  // Counts the pagination account's requests, to show that iteration fetches page by page.
  const counting: typeof fetch = (input, init) => {
    pageRequests++;
    return fetch(input, init);
  };
  pages = new LuniPay(pagesKey, { baseUrl: server.url, fetch: counting });
});

after(async () => {
  await server?.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

describe('every method', () => {
  it('create, retrieve, update, list, del', async () => {
    const ada = await lunipay.customers.create({
      email: 'ada@example.com',
      first_name: 'Ada',
      last_name: 'Lovelace',
      phone: '+18765551234',
      metadata: { internal_id: 'ACCT-42' },
    });
    assert.match(ada.id, /^cus_/);
    assert.deepEqual(
      [ada.object, ada.livemode, ada.email, ada.phone, ada.company_name],
      ['customer', false, 'ada@example.com', '+18765551234', null],
    );
    assert.deepEqual(await lunipay.customers.retrieve(ada.id), ada);

    const updated = await lunipay.customers.update(ada.id, { phone: null, metadata: { plan: 'pro' } });
    assert.equal(updated.phone, null);
    assert.equal(updated.first_name, 'Ada', 'fields not sent are unchanged');
    assert.deepEqual(updated.metadata, { internal_id: 'ACCT-42', plan: 'pro' }, 'metadata is merged');

    const page = await lunipay.customers.list({ email: 'ADA@example.com', limit: 5 });
    assert.deepEqual([page.object, page.url, page.has_more], ['list', '/v1/customers', false]);
    assert.deepEqual(page.data, [updated]);

    assert.deepEqual(await lunipay.customers.del(ada.id), { id: ada.id, object: 'customer', deleted: true });
    assert.equal(await countByEmail('ada@example.com'), 0);
  });
});

describe(`autopagination over ${MANY} customers`, () => {
  const shared = 'shared@example.com';
  let newestFirst: string[] = []; // the order the API lists in: by id, descending
  let sharedNewestFirst: string[] = [];

  before(async () => {
    const made = await pool(
      Array.from({ length: MANY }, (_, i) => i),
      8,
      (i) => pages.customers.create({ email: i % SHARED_EVERY === 0 ? shared : `c${i}@example.com` }),
    );
    const sortDesc = (cs: Customer[]) => cs.map((c) => c.id).sort((a, b) => (a < b ? 1 : -1));
    newestFirst = sortDesc(made);
    sharedNewestFirst = sortDesc(made.filter((c) => c.email === shared));
    assert.equal(sharedNewestFirst.length, MANY / SHARED_EVERY);
  });

  const walk = async (list: AsyncIterable<Customer>) => {
    pageRequests = 0;
    const ids: string[] = [];
    for await (const c of list) ids.push(c.id);
    return ids;
  };

  it('forwards, no filter: every customer once, newest first, 100 per request', async () => {
    assert.deepEqual(await walk(pages.customers.list({ limit: 100 })), newestFirst);
    assert.equal(pageRequests, MANY / 100, 'one request per page, no empty trailing page');
  });

  it('forwards, email filter (case-insensitive), small pages', async () => {
    assert.deepEqual(
      await walk(pages.customers.list({ email: shared.toUpperCase(), limit: 7 })),
      sharedNewestFirst,
    );
    assert.equal(pageRequests, Math.ceil(sharedNewestFirst.length / 7));
  });

  it('backwards from ending_before, no filter: the newer ones, oldest to newest', async () => {
    const oldest = newestFirst.at(-1) as string;
    const ids = await walk(pages.customers.list({ ending_before: oldest, limit: 40 }));
    assert.deepEqual(ids, newestFirst.slice(0, -1).reverse());
  });

  it('backwards from ending_before, email filter', async () => {
    const oldest = sharedNewestFirst.at(-1) as string;
    const ids = await walk(pages.customers.list({ email: shared, ending_before: oldest, limit: 9 }));
    assert.deepEqual(ids, sharedNewestFirst.slice(0, -1).reverse());
  });

  it('toArray stops at max, fetching no page it does not need', async () => {
    pageRequests = 0;
    const some = await pages.customers.list({ limit: 30 }).toArray({ max: 45 });
    assert.deepEqual(
      some.map((c) => c.id),
      newestFirst.slice(0, 45),
    );
    assert.equal(pageRequests, 2);
  });
});

describe('error classes, as the real server sends them', () => {
  it('InvalidRequestError with code, param, status and requestId', async () => {
    const bad = await rejection(lunipay.customers.create({ email: 'no-at-sign' }));
    assert.ok(bad instanceof InvalidRequestError);
    assert.deepEqual(
      [bad.type, bad.code, bad.param, bad.status],
      ['invalid_request_error', 'parameter_invalid', 'email', 400],
    );
    assert.match(bad.requestId ?? '', REQUEST_ID);

    const missing = await rejection(lunipay.customers.create({} as { email: string }));
    assert.ok(missing instanceof InvalidRequestError);
    assert.deepEqual([missing.code, missing.param], ['parameter_missing', 'email']);
  });

  it('AuthenticationError for an unknown key', async () => {
    const stranger = new LuniPay(`sk_test_${'x'.repeat(32)}`, { baseUrl: server.url });
    const err = await rejection(stranger.customers.list());
    assert.ok(err instanceof AuthenticationError);
    assert.deepEqual([err.code, err.status], ['api_key_invalid', 401]);
    assert.match(err.requestId ?? '', REQUEST_ID);
  });

  it('404 resource_missing from retrieve, update and del', async () => {
    for (const call of [
      () => lunipay.customers.retrieve(MISSING_ID),
      () => lunipay.customers.update(MISSING_ID, { first_name: 'X' }),
      () => lunipay.customers.del(MISSING_ID),
    ]) {
      const err = await rejection(call());
      assert.ok(err instanceof InvalidRequestError);
      assert.deepEqual([err.code, err.status], ['resource_missing', 404]);
      assert.match(err.requestId ?? '', REQUEST_ID);
    }
  });
});

describe('retries and timeouts through a fault-injecting proxy', () => {
  let proxy: FaultyServer;
  let viaProxy: LuniPay;

  before(async () => {
    proxy = await startFaultProxy(server.url);
    viaProxy = new LuniPay(key, { baseUrl: proxy.url, retryDelayMs: 20, maxRetryDelayMs: 100 });
  });
  after(() => proxy.close());

  const keys = () => new Set(proxy.attempts.map((a) => a.idempotencyKey));

  it('503, then a reset before forwarding, then success: one customer, one Idempotency-Key', async () => {
    proxy.reset();
    proxy.failNext(1, { kind: 'status', status: 503 }).failNext(1, { kind: 'reset' });
    await viaProxy.customers.create({ email: 'retry@example.com' });
    assert.equal(proxy.attempts.length, 3);
    assert.equal(keys().size, 1);
    assert.match([...keys()][0] ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(await countByEmail('retry@example.com'), 1);

    // A key of the caller's own is sent as is, on every attempt.
    const target = await lunipay.customers.create({ email: 'own-key@example.com' });
    proxy.reset();
    proxy.failNext(2, { kind: 'status', status: 503 });
    const updated = await viaProxy.customers.update(
      target.id,
      { notes: 'retried' },
      { idempotencyKey: 'sdk-test-update-1' },
    );
    assert.equal(updated.notes, 'retried');
    assert.deepEqual([...keys()], ['sdk-test-update-1']);
  });

  it('reset after forwarding: the retry reuses the Idempotency-Key (one customer once the server honours it)', async (t) => {
    // Without server-side idempotency the retry creates a second customer; the SDK's part, the
    // same key on every attempt, is what holds today. The count is asserted as soon as the
    // server's document declares the Idempotency-Key header on createCustomer.
    const doc = await (await fetch(`${server.url}/v1/openapi.json`)).json();
    const op = doc.paths['/v1/customers'];
    const params: { in: string; name: string }[] = [...(op.parameters ?? []), ...(op.post.parameters ?? [])];
    const declared = params.some((p) => p.in === 'header' && p.name.toLowerCase() === 'idempotency-key');

    proxy.reset();
    proxy.failNext(1, { kind: 'reset-after' });
    await viaProxy.customers.create({ email: 'lost-answer@example.com' });
    assert.equal(proxy.attempts.length, 2);
    assert.equal(proxy.attempts[0]?.status, 200, 'the first attempt reached the server and created');
    assert.equal(keys().size, 1);
    const count = await countByEmail('lost-answer@example.com');
    if (declared) assert.equal(count, 1);
    else
      t.diagnostic(
        `Idempotency-Key not declared by the server yet: ${count} customer(s), count not asserted`,
      );
  });

  it('TimeoutError when the answer takes longer than timeoutMs; a retry after a timeout succeeds', async () => {
    proxy.reset();
    proxy.slowMs = 1000;
    const impatient = new LuniPay(key, { baseUrl: proxy.url, timeoutMs: 200, maxRetries: 0 });
    const started = Date.now();
    const err = await rejection(impatient.customers.list({ limit: 1 }));
    assert.ok(err instanceof TimeoutError);
    assert.ok(err instanceof ConnectionError);
    assert.ok(Date.now() - started < 900, 'gave up at the timeout, not when the answer came');

    // A read (no side effect if the slow attempt still lands): first attempt too slow, second fine.
    proxy.reset();
    proxy.failNext(1, { kind: 'delay', ms: 600 });
    const patient = new LuniPay(key, { baseUrl: proxy.url, timeoutMs: 200, maxRetries: 1, retryDelayMs: 10 });
    const page = await patient.customers.list({ limit: 1 });
    assert.equal(page.object, 'list');
    assert.equal(proxy.attempts.length, 2);
  });
});
