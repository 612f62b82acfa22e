import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createKey, revokeKey } from '../src/accounts/accounts.service.js';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import type { Db } from '../src/db/index.js';
import { openDatabase } from '../src/db/index.js';
import { newId } from '../src/ids.js';
import {
  type ApiResponse,
  forEachDatabase,
  type Harness,
  type RequestOptions,
  startHarness,
  type TestAccount,
} from './helpers/harness.js';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const base62 = (n: number) => Array.from({ length: n }, () => BASE62[randomInt(62)]).join('');
const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;

/** Every email this file sends, so the log check can look for each of them. */
const EMAILS = {
  a: 'security-owner@example.com',
  live: 'security-live@example.com',
  fresh: 'security-fresh@example.com',
  filter: 'Security-Filter@Example.com',
};

interface Route {
  name: string;
  method: string;
  /** The URL for a customer the caller may (or may not) see. */
  url: (id: string) => string;
  json?: unknown;
  /** A route that names one customer: the cross-tenant and cross-mode checks apply. */
  byId: boolean;
}

const ROUTES: Route[] = [
  {
    name: 'POST /v1/customers',
    method: 'POST',
    url: () => '/v1/customers',
    json: { email: EMAILS.fresh },
    byId: false,
  },
  { name: 'GET /v1/customers/:id', method: 'GET', url: (id) => `/v1/customers/${id}`, byId: true },
  {
    name: 'PATCH /v1/customers/:id',
    method: 'PATCH',
    url: (id) => `/v1/customers/${id}`,
    json: { first_name: 'Mallory' },
    byId: true,
  },
  {
    name: 'POST /v1/customers/:id',
    method: 'POST',
    url: (id) => `/v1/customers/${id}`,
    json: { first_name: 'Mallory' },
    byId: true,
  },
  { name: 'DELETE /v1/customers/:id', method: 'DELETE', url: (id) => `/v1/customers/${id}`, byId: true },
  { name: 'GET /v1/customers', method: 'GET', url: () => '/v1/customers', byId: false },
];

forEachDatabase('security', (dialect) => {
  let h: Harness;
  let a: TestAccount;
  let b: TestAccount;
  /** Test-mode and live-mode customers of account a. */
  let custA: { id: string };
  let custALive: { id: string };
  /** Every secret this file has seen, for the log and storage checks. */
  const secrets: string[] = [];

  before(async () => {
    h = await startHarness(dialect);
    a = await h.account('Owner shop');
    b = await h.account('Other shop');
    secrets.push(a.test, a.live, b.test, b.live);
    custA = (await h.request('POST', '/v1/customers', { key: a.test, json: { email: EMAILS.a } })).body;
    custALive = (await h.request('POST', '/v1/customers', { key: a.live, json: { email: EMAILS.live } }))
      .body;
    assert.ok(custA.id && custALive.id);
  });
  after(() => h.close());

  /**
   * The same app over a database that refuses every connection (port 1 on loopback): any lookup
   * of a key there is a 503, so a 401 from it was decided before the database was asked.
   */
  let offline: { app: FastifyInstance; db: Db };
  before(async () => {
    const config = loadConfig({
      LUNIPAY_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/test',
      LUNIPAY_LOG_LEVEL: 'silent',
      LUNIPAY_RATE_LIMIT: '0',
    });
    const db = await openDatabase(config.database);
    offline = { app: await buildApp({ config, db }), db };
  });
  after(async () => {
    await offline.app.close();
    await offline.db.close();
  });
  const sendOffline = (route: Route, auth: string | null, payload?: string) =>
    offline.app.inject({
      method: route.method as 'GET',
      url: route.url(custA.id),
      headers: {
        ...(auth === null ? {} : { authorization: auth }),
        ...(route.json === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(route.json === undefined ? {} : { payload: payload ?? JSON.stringify(route.json) }),
    });

  const freshCustomer = async (key = a.test): Promise<string> => {
    const res = await h.request('POST', '/v1/customers', { key, json: { email: EMAILS.fresh } });
    assert.equal(res.status, 200);
    return res.body.id;
  };

  /** Sends the route's request; `auth` is the raw Authorization header (or none). */
  const send = (route: Route, id: string, auth: string | null, extra: RequestOptions = {}) =>
    h.request(route.method, route.url(id), {
      ...(route.json === undefined ? {} : { json: route.json }),
      ...extra,
      headers: { ...(auth === null ? {} : { authorization: auth }), ...(extra.headers ?? {}) },
    });

  const assertAuthError = (res: ApiResponse, code: 'api_key_missing' | 'api_key_invalid', key?: string) => {
    assert.equal(res.status, 401, res.raw);
    assert.deepEqual(Object.keys(res.body.error).sort(), ['code', 'message', 'type']);
    assert.equal(res.body.error.type, 'authentication_error');
    assert.equal(res.body.error.code, code);
    assert.ok(res.body.error.message.length > 0);
    assert.match(String(res.headers['request-id']), /^req_/);
    // (A bare prefix such as `sk_test_` is in the message's own advice, so only real keys count.)
    if (key && key.length > 12) {
      assert.ok(!res.raw.includes(key), `the response echoes the key: ${res.raw}`);
      assert.ok(!JSON.stringify(res.headers).includes(key), 'a header echoes the key');
    }
  };

  for (const route of ROUTES) {
    test(`${route.name}: no key, or an empty one → 401 api_key_missing, before any lookup`, async () => {
      for (const auth of [null, '', 'Bearer', 'Bearer ', basic('')]) {
        assertAuthError(await send(route, custA.id, auth), 'api_key_missing');
      }
      // The key is checked before the body is read: a broken body without a key is still a 401.
      if (route.json !== undefined) {
        const res = await send(route, custA.id, null, {
          json: undefined,
          payload: '{"email":',
          headers: { 'content-type': 'application/json' },
        });
        assertAuthError(res, 'api_key_missing');
      }
      // No lookup: where any lookup fails, the same requests are still these 401s…
      for (const auth of [null, '', 'Bearer', 'Bearer ', basic('')]) {
        const res = await sendOffline(route, auth);
        assert.equal(res.statusCode, 401, res.body);
        assert.equal(res.json().error.code, 'api_key_missing');
      }
      if (route.json !== undefined) {
        const res = await sendOffline(route, null, '{"email":');
        assert.equal(res.statusCode, 401, res.body);
        assert.equal(res.json().error.code, 'api_key_missing');
      }
      // …while a request with a key is looked up there, and that fails.
      const looked = await sendOffline(route, `Bearer ${a.test}`);
      assert.equal(looked.statusCode, 503, looked.body);
      assert.equal(looked.json().error.code, 'service_unavailable');
    });

    test(`${route.name}: malformed, unknown and wrongly sent keys → 401 api_key_invalid, never echoed`, async () => {
      const malformed = [
        'garbage',
        'sk_test_',
        `sk_test_${base62(10)}`,
        `sk_test_${base62(31)}!`,
        `pk_test_${base62(32)}`,
        `sk_prod_${base62(32)}`,
        `sk_test_${base62(32)} trailing`,
        a.test.replace('sk_test_', 'sk_live_'), // the right random part, the wrong mode
        `${a.test}x`,
        `sk_test_${'é'.repeat(32)}`,
      ];
      const unknown = [`sk_test_${base62(32)}`, `sk_live_${base62(32)}`];
      const bodies = new Set<string>();
      for (const key of [...malformed, ...unknown]) {
        for (const res of [
          await send(route, custA.id, `Bearer ${key}`),
          await send(route, custA.id, basic(key)),
        ]) {
          assertAuthError(res, 'api_key_invalid', key);
          bodies.add(res.raw);
        }
      }
      // Malformed and unknown keys get the very same answer: the caller learns nothing about which.
      assert.equal(bodies.size, 1, [...bodies].join('\n'));
      // A valid key in another scheme, or with no scheme, is not accepted.
      for (const auth of [
        `Token ${a.test}`,
        `Digest ${a.test}`,
        `ApiKey ${a.test}`,
        a.test,
        `Bearer: ${a.test}`,
      ]) {
        assertAuthError(await send(route, custA.id, auth), 'api_key_invalid', a.test);
      }
    });

    test(`${route.name}: a revoked key is refused on the very next request`, async () => {
      const key = await createKey(h.db, a.id, 'test');
      secrets.push(key.secret);
      const id = await freshCustomer();
      const ok = await send(route, id, `Bearer ${key.secret}`);
      assert.equal(ok.status, 200, ok.raw);
      await revokeKey(h.db, key.id);
      const target = await freshCustomer();
      assertAuthError(await send(route, target, `Bearer ${key.secret}`), 'api_key_invalid', key.secret);
      assertAuthError(await send(route, target, basic(key.secret)), 'api_key_invalid', key.secret);
      // The revoked key's request had no effect on the customer.
      const still = await h.request('GET', `/v1/customers/${target}`, { key: a.test });
      assert.equal(still.status, 200);
      assert.equal(still.body.first_name, '');
    });

    test(`${route.name}: HTTP Basic with the key as the user name works, as does Bearer`, async () => {
      for (const auth of [basic(a.test), `Bearer ${a.test}`]) {
        const id = await freshCustomer();
        const res = await send(route, id, auth);
        assert.equal(res.status, 200, res.raw);
        if (route.byId) assert.equal(res.body.id, id);
      }
    });

    if (!route.byId) continue;

    test(`${route.name}: another account's customer is a 404 exactly like one that never existed`, async () => {
      const never = newId('cus');
      for (const key of [b.test, b.live]) {
        const other = await send(route, custA.id, `Bearer ${key}`);
        const none = await send(route, never, `Bearer ${key}`);
        assert.equal(other.status, 404, other.raw);
        assert.deepEqual(other.body, {
          error: {
            type: 'invalid_request_error',
            code: 'resource_missing',
            message: `No such customer: '${custA.id}'.`,
            param: 'id',
          },
        });
        assert.equal(none.status, 404);
        assert.deepEqual(JSON.parse(other.raw.replaceAll(custA.id, never)), none.body);
        assert.deepEqual(Object.keys(other.headers).sort(), Object.keys(none.headers).sort());
      }
      // Nothing happened to it.
      const mine = await h.request('GET', `/v1/customers/${custA.id}`, { key: a.test });
      assert.equal(mine.status, 200);
      assert.equal(mine.body.email, EMAILS.a);
      assert.equal(mine.body.first_name, '');
    });

    test(`${route.name}: the other mode's customer is a 404 that says it exists in that mode`, async () => {
      for (const [key, id, mode] of [
        [a.live, custA.id, 'test'],
        [a.test, custALive.id, 'live'],
      ] as const) {
        const res = await send(route, id, `Bearer ${key}`);
        assert.equal(res.status, 404, res.raw);
        assert.equal(res.body.error.type, 'invalid_request_error');
        assert.equal(res.body.error.code, 'resource_missing');
        assert.equal(res.body.error.param, 'id');
        assert.ok(res.body.error.message.startsWith(`No such customer: '${id}'`), res.body.error.message);
        assert.match(res.body.error.message, new RegExp(`similar object exists in ${mode} mode`));
      }
      for (const [key, id] of [
        [a.test, custA.id],
        [a.live, custALive.id],
      ] as const) {
        const mine = await h.request('GET', `/v1/customers/${id}`, { key });
        assert.equal(mine.status, 200);
        assert.equal(mine.body.first_name, '');
      }
    });
  }

  test("lists never show another account's or the other mode's customers", async () => {
    await h.request('POST', '/v1/customers', { key: a.test, json: { email: EMAILS.filter } });
    const ids = async (key: string, query: Record<string, unknown> = {}) => {
      const res = await h.request('GET', '/v1/customers', { key, query: { limit: 100, ...query } });
      assert.equal(res.status, 200);
      return res.body.data.map((c: { id: string }) => c.id) as string[];
    };
    for (const key of [b.test, b.live]) {
      assert.deepEqual(await ids(key), []);
      assert.deepEqual(await ids(key, { email: EMAILS.a }), []);
      assert.deepEqual(await ids(key, { email: EMAILS.filter }), []);
      // A cursor from another tenant reveals nothing either.
      assert.deepEqual(await ids(key, { ending_before: custA.id }), []);
    }
    assert.ok(!(await ids(a.live)).includes(custA.id));
    assert.deepEqual(await ids(a.live, { email: EMAILS.a }), []);
    assert.ok(!(await ids(a.test)).includes(custALive.id));
    assert.deepEqual(await ids(a.test, { email: EMAILS.live }), []);
    assert.ok((await ids(a.test)).includes(custA.id));
    assert.deepEqual(await ids(a.live, { email: EMAILS.live }), [custALive.id]);
  });

  test('the route and method are checked before the key', async () => {
    const cases: [string, string, number, string][] = [
      ['PUT', '/v1/customers', 405, 'method_not_allowed'],
      ['DELETE', '/v1/customers', 405, 'method_not_allowed'],
      ['PATCH', '/v1/customers', 405, 'method_not_allowed'],
      ['PUT', `/v1/customers/${custA.id}`, 405, 'method_not_allowed'],
      ['GET', '/v1/nothing', 404, 'url_invalid'],
      ['POST', '/v1/customer', 404, 'url_invalid'],
      ['GET', `/v1/customers/${custA.id}/extra`, 404, 'url_invalid'],
      ['DELETE', '/v2/customers', 404, 'url_invalid'],
    ];
    for (const [method, url, status, code] of cases) {
      for (const auth of [null, `Bearer ${base62(12)}`, `Bearer ${a.test}`]) {
        const res = await h.request(method, url, { headers: auth ? { authorization: auth } : {} });
        assert.equal(res.status, status, `${method} ${url} ${auth}: ${res.raw}`);
        assert.equal(res.body.error.code, code);
        assert.equal(res.body.error.type, 'invalid_request_error');
      }
    }
  });

  test('keys are stored only as hashes', async () => {
    const rows = await h.db.kysely.selectFrom('api_keys').selectAll().execute();
    assert.ok(rows.length >= secrets.length);
    for (const row of rows) {
      const text = JSON.stringify(row);
      for (const secret of secrets) {
        assert.ok(!text.includes(secret), `api_keys row ${row.id} holds a secret`);
        assert.ok(!text.includes(secret.slice(8)), `api_keys row ${row.id} holds a secret's random part`);
      }
    }
    if (h.config.database.dialect === 'sqlite') {
      const path = h.config.database.path;
      for (const file of [path, `${path}-wal`]) {
        let bytes: Buffer;
        try {
          bytes = readFileSync(file);
        } catch {
          continue;
        }
        for (const secret of secrets) assert.ok(!bytes.includes(secret), `${file} holds a secret`);
      }
    }
  });

  // Last, so it sees every line the tests above wrote.
  test('the logs never hold a secret key or a customer email', async () => {
    const logs = h.logs();
    assert.ok(logs.length > 0);
    for (const secret of secrets) {
      assert.ok(!logs.includes(secret), 'the logs hold a secret key');
      assert.ok(!logs.includes(secret.slice(8)), 'the logs hold the random part of a key');
    }
    for (const email of Object.values(EMAILS)) {
      for (const form of [email, email.toLowerCase(), encodeURIComponent(email)]) {
        assert.ok(!logs.includes(form), `the logs hold ${form}`);
      }
    }
  });
});
