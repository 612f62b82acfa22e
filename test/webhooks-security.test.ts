import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { createKey, revokeKey } from '../src/accounts/accounts.service.js';
import { newId } from '../src/ids.js';
import {
  type ApiResponse,
  forEachDatabase,
  type Harness,
  type RequestOptions,
  startHarness,
  type TestAccount,
} from './helpers/harness.js';

interface Route {
  name: string;
  method: string;
  url: (id: string) => string;
  json?: unknown;
  /** A route that names one endpoint: the cross-tenant and cross-mode checks apply. */
  byId: boolean;
}

const BODY = { url: 'https://example.com/hooks', enabled_events: ['*'] };
const ROUTES: Route[] = [
  {
    name: 'POST /v1/webhook_endpoints',
    method: 'POST',
    url: () => '/v1/webhook_endpoints',
    json: BODY,
    byId: false,
  },
  { name: 'GET /v1/webhook_endpoints', method: 'GET', url: () => '/v1/webhook_endpoints', byId: false },
  {
    name: 'GET /v1/webhook_endpoints/:id',
    method: 'GET',
    url: (id) => `/v1/webhook_endpoints/${id}`,
    byId: true,
  },
  ...(['PATCH', 'POST'] as const).map((method) => ({
    name: `${method} /v1/webhook_endpoints/:id`,
    method,
    url: (id: string) => `/v1/webhook_endpoints/${id}`,
    json: { description: 'Mallory was here' },
    byId: true,
  })),
  {
    name: 'POST /v1/webhook_endpoints/:id/roll_secret',
    method: 'POST',
    url: (id) => `/v1/webhook_endpoints/${id}/roll_secret`,
    json: {},
    byId: true,
  },
  {
    name: 'DELETE /v1/webhook_endpoints/:id',
    method: 'DELETE',
    url: (id) => `/v1/webhook_endpoints/${id}`,
    byId: true,
  },
];

forEachDatabase('webhook endpoints: security', (dialect) => {
  let h: Harness;
  let a: TestAccount;
  let b: TestAccount;
  let mine: { id: string; secret: string };
  let mineLive: { id: string; secret: string };
  /** Every signing secret this file has seen, for the response, log and storage checks. */
  const secrets: string[] = [];

  before(async () => {
    h = await startHarness(dialect);
    a = await h.account('Owner');
    b = await h.account('Other');
    mine = await fresh(a.test);
    mineLive = await fresh(a.live);
  });
  after(() => h.close());

  async function fresh(key: string) {
    const res = await h.request('POST', '/v1/webhook_endpoints', { key, json: BODY });
    assert.equal(res.status, 200, res.raw);
    secrets.push(res.body.secret);
    return res.body as { id: string; secret: string };
  }
  const send = (route: Route, id: string, auth: string | null, extra: RequestOptions = {}) =>
    h.request(route.method, route.url(id), {
      ...(route.json === undefined ? {} : { json: route.json }),
      ...extra,
      headers: { ...(auth === null ? {} : { authorization: auth }), ...(extra.headers ?? {}) },
    });
  const remember = (res: ApiResponse) => {
    if (typeof res.body?.secret === 'string') secrets.push(res.body.secret);
    return res;
  };
  const row = (id: string) =>
    h.db.kysely.selectFrom('webhook_endpoints').selectAll().where('id', '=', id).executeTakeFirst();
  const secretRows = (id: string) =>
    h.db.kysely
      .selectFrom('webhook_endpoint_secrets')
      .selectAll()
      .where('endpoint_id', '=', id)
      .orderBy('id')
      .execute();

  for (const route of ROUTES) {
    test(`${route.name}: no key, a bad key, a revoked key → 401, nothing done`, async () => {
      const o = await h.account();
      const target = await fresh(o.test);
      const before = { endpoint: await row(target.id), secrets: await secretRows(target.id) };
      const revoked = await createKey(h.db, o.id, 'test');
      await revokeKey(h.db, revoked.id);
      for (const [auth, code] of [
        [null, 'api_key_missing'],
        ['Bearer ', 'api_key_missing'],
        ['Bearer sk_test_0123456789abcdefghijklmnopqrstuv', 'api_key_invalid'],
        [`Bearer ${o.test}x`, 'api_key_invalid'],
        [`Bearer ${revoked.secret}`, 'api_key_invalid'],
      ] as const) {
        const res = await send(route, target.id, auth);
        assert.equal(res.status, 401, `${auth}: ${res.raw}`);
        assert.equal(res.body.error.type, 'authentication_error');
        assert.equal(res.body.error.code, code);
        assert.ok(!res.raw.includes(revoked.secret));
      }
      assert.deepEqual({ endpoint: await row(target.id), secrets: await secretRows(target.id) }, before);
    });

    if (!route.byId) continue;

    test(`${route.name}: another account's endpoint is a 404 byte for byte like one that never existed`, async () => {
      const target = await fresh((await h.account()).test);
      const before = { endpoint: await row(target.id), secrets: await secretRows(target.id) };
      const never = newId('we');
      for (const key of [b.test, b.live]) {
        const other = await send(route, target.id, `Bearer ${key}`);
        const none = await send(route, never, `Bearer ${key}`);
        assert.equal(other.status, 404, other.raw);
        assert.deepEqual(other.body, {
          error: {
            type: 'invalid_request_error',
            code: 'resource_missing',
            message: `No such webhook endpoint: '${target.id}'.`,
            param: 'id',
          },
        });
        assert.equal(other.raw.replaceAll(target.id, never), none.raw);
        assert.deepEqual(Object.keys(other.headers).sort(), Object.keys(none.headers).sort());
      }
      assert.deepEqual({ endpoint: await row(target.id), secrets: await secretRows(target.id) }, before);
    });

    test(`${route.name}: the other mode's endpoint is a 404 that says it exists in that mode`, async () => {
      const o = await h.account();
      for (const [key, target, mode] of [
        [o.live, await fresh(o.test), 'test'],
        [o.test, await fresh(o.live), 'live'],
      ] as const) {
        const before = { endpoint: await row(target.id), secrets: await secretRows(target.id) };
        const res = await send(route, target.id, `Bearer ${key}`);
        assert.equal(res.status, 404, res.raw);
        assert.equal(res.body.error.code, 'resource_missing');
        assert.equal(res.body.error.param, 'id');
        assert.ok(res.body.error.message.startsWith(`No such webhook endpoint: '${target.id}'`));
        assert.match(res.body.error.message, new RegExp(`similar object exists in ${mode} mode`));
        assert.deepEqual({ endpoint: await row(target.id), secrets: await secretRows(target.id) }, before);
      }
    });
  }

  test("lists never show another account's or the other mode's endpoints", async () => {
    const ids = async (key: string) =>
      (await h.request('GET', '/v1/webhook_endpoints', { key, query: { limit: 100 } })).body.data.map(
        (e: { id: string }) => e.id,
      ) as string[];
    assert.deepEqual(await ids(b.test), []);
    assert.deepEqual(await ids(b.live), []);
    assert.ok((await ids(a.test)).includes(mine.id));
    assert.ok(!(await ids(a.test)).includes(mineLive.id));
    assert.ok(!(await ids(a.live)).includes(mine.id));
    // A cursor from another tenant reveals nothing either.
    const res = await h.request('GET', '/v1/webhook_endpoints', {
      key: b.test,
      query: { ending_before: mine.id },
    });
    assert.deepEqual(res.body.data, []);
  });

  test('the route and method are checked before the key', async () => {
    for (const [method, url, status] of [
      ['PUT', '/v1/webhook_endpoints', 405],
      ['DELETE', '/v1/webhook_endpoints', 405],
      ['PUT', `/v1/webhook_endpoints/${mine.id}`, 405],
      ['GET', `/v1/webhook_endpoints/${mine.id}/roll_secret`, 405],
      ['DELETE', `/v1/webhook_endpoints/${mine.id}/roll_secret`, 405],
      ['POST', `/v1/webhook_endpoints/${mine.id}/nothing`, 404],
    ] as const) {
      for (const auth of [null, `Bearer ${a.test}`]) {
        const res = await h.request(method, url, { headers: auth ? { authorization: auth } : {} });
        assert.equal(res.status, status, `${method} ${url}: ${res.raw}`);
      }
    }
  });

  test('a secret is shown only by create and roll_secret: never by a later response', async () => {
    const c = await h.account('Third');
    const target = await fresh(c.test);
    const rolled = remember(
      await h.request('POST', `/v1/webhook_endpoints/${target.id}/roll_secret`, { key: c.test }),
    );
    assert.equal(rolled.status, 200);
    const later = [
      await h.request('GET', `/v1/webhook_endpoints/${target.id}`, { key: c.test }),
      await h.request('GET', '/v1/webhook_endpoints', { key: c.test, query: { limit: 100 } }),
      await h.request('PATCH', `/v1/webhook_endpoints/${target.id}`, {
        key: c.test,
        json: { disabled: true },
      }),
      await h.request('POST', `/v1/webhook_endpoints/${target.id}`, { key: c.test, json: {} }),
      await h.request('DELETE', `/v1/webhook_endpoints/${target.id}`, { key: c.test }),
    ];
    for (const res of later) {
      assert.equal(res.status, 200, res.raw);
      assert.ok(!res.raw.includes('whsec_'), res.raw);
      for (const secret of secrets) assert.ok(!res.raw.includes(secret));
    }
  });

  test('the database holds no secret in clear, stored idempotent answers included', async () => {
    const c = await h.account('Replayer');
    const headers = { 'idempotency-key': 'create-once' };
    for (let i = 0; i < 2; i++) {
      const created = remember(
        await h.request('POST', '/v1/webhook_endpoints', { key: c.test, json: BODY, headers }),
      );
      const url = `/v1/webhook_endpoints/${created.body.id}/roll_secret`;
      remember(
        await h.request('POST', url, { key: c.test, json: {}, headers: { 'idempotency-key': 'roll-once' } }),
      );
    }
    assert.ok(secrets.length >= 10);
    const tables = ['webhook_endpoints', 'webhook_endpoint_secrets', 'idempotency_keys'] as const;
    for (const table of tables) {
      const text = JSON.stringify(await h.db.kysely.selectFrom(table).selectAll().execute());
      for (const secret of secrets) {
        assert.ok(!text.includes(secret), `${table} holds a secret`);
        assert.ok(!text.includes(secret.slice(6)), `${table} holds a secret's random part`);
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
        for (const secret of secrets) {
          assert.ok(!bytes.includes(secret.slice(6)), `${file} holds a secret`);
          assert.ok(
            !bytes.includes(Buffer.from(secret.slice(6), 'base64')),
            `${file} holds a secret's bytes`,
          );
        }
      }
    }
  });

  // Last, so it sees every line the tests above wrote.
  test('the logs never hold a signing secret', () => {
    const logs = h.logs();
    assert.ok(logs.length > 0);
    assert.ok(!logs.includes('whsec_'));
    for (const secret of secrets) assert.ok(!logs.includes(secret.slice(6)), 'the logs hold a secret');
  });
});
