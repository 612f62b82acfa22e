import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { after, before, test } from 'node:test';
import { createKey, revokeKey } from '../src/accounts/accounts.service.js';
import { newId } from '../src/ids.js';
import {
  type ApiResponse,
  forEachDatabase,
  type Harness,
  startHarness,
  type TestAccount,
} from './helpers/harness.js';

/** The event routes, per route: keys, revocation, and an event seen only by its own account and mode. */

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const base62 = (n: number) => Array.from({ length: n }, () => BASE62[randomInt(62)]).join('');
const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;

const ROUTES = [
  { name: 'GET /v1/events/:id', url: (id: string) => `/v1/events/${id}` },
  { name: 'GET /v1/events', url: () => '/v1/events' },
  { name: 'GET /v1/events?sequence_after=0', url: () => '/v1/events?sequence_after=0' },
];

forEachDatabase('events security', (dialect) => {
  let h: Harness;
  let a: TestAccount;
  let b: TestAccount;
  /** An event of account a in test mode, and one in live mode. */
  let evtA: string;
  let evtALive: string;
  let custA: string;
  before(async () => {
    h = await startHarness(dialect);
    a = await h.account('Events owner');
    b = await h.account('Events other');
    custA = (await h.request('POST', '/v1/customers', { key: a.test, json: { email: 'evsec@example.com' } }))
      .body.id;
    await h.request('POST', '/v1/customers', { key: a.live, json: { email: 'evsec-live@example.com' } });
    const first = async (key: string) =>
      (await h.request('GET', '/v1/events', { key, query: { limit: 1 } })).body.data[0].id as string;
    evtA = await first(a.test);
    evtALive = await first(a.live);
  });
  after(() => h.close());

  const get = (url: string, auth: string | null) =>
    h.request('GET', url, { headers: auth === null ? {} : { authorization: auth } });

  const assertAuthError = (res: ApiResponse, code: string, key?: string) => {
    assert.equal(res.status, 401, res.raw);
    assert.equal(res.body.error.type, 'authentication_error');
    assert.equal(res.body.error.code, code);
    if (key) assert.ok(!res.raw.includes(key), 'the response echoes the key');
  };

  for (const route of ROUTES) {
    test(`${route.name}: no key → 401 api_key_missing; a bad one → 401 api_key_invalid`, async () => {
      for (const auth of [null, '', 'Bearer', 'Bearer ', basic('')]) {
        assertAuthError(await get(route.url(evtA), auth), 'api_key_missing');
      }
      const bodies = new Set<string>();
      for (const key of ['garbage', `sk_test_${base62(32)}`, `sk_live_${base62(32)}`, `${a.test}x`]) {
        for (const auth of [`Bearer ${key}`, basic(key)]) {
          const res = await get(route.url(evtA), auth);
          assertAuthError(res, 'api_key_invalid', key);
          bodies.add(res.raw);
        }
      }
      assert.equal(bodies.size, 1);
      assertAuthError(await get(route.url(evtA), `Token ${a.test}`), 'api_key_invalid', a.test);
    });

    test(`${route.name}: a revoked key is refused on the very next request`, async () => {
      const key = await createKey(h.db, a.id, 'test');
      assert.equal((await get(route.url(evtA), `Bearer ${key.secret}`)).status, 200);
      await revokeKey(h.db, key.id);
      assertAuthError(await get(route.url(evtA), `Bearer ${key.secret}`), 'api_key_invalid', key.secret);
      assertAuthError(await get(route.url(evtA), basic(key.secret)), 'api_key_invalid', key.secret);
    });
  }

  test("another account's event, and the other mode's, are a 404 identical to an unknown id", async () => {
    const never = newId('evt');
    for (const [key, id] of [
      [b.test, evtA],
      [b.live, evtA],
      [b.live, evtALive],
      [a.live, evtA],
      [a.test, evtALive],
    ] as const) {
      const res = await get(`/v1/events/${id}`, `Bearer ${key}`);
      const none = await get(`/v1/events/${never}`, `Bearer ${key}`);
      assert.equal(res.status, 404, res.raw);
      assert.deepEqual(res.body, {
        error: {
          type: 'invalid_request_error',
          code: 'resource_missing',
          message: `No such event: '${id}'.`,
          param: 'id',
        },
      });
      assert.equal(res.raw.replaceAll(id, never), none.raw, 'byte for byte the answer to an unknown id');
      assert.deepEqual(Object.keys(res.headers).sort(), Object.keys(none.headers).sort());
    }
    assert.equal((await get(`/v1/events/${evtA}`, `Bearer ${a.test}`)).status, 200);
    assert.equal((await get(`/v1/events/${evtALive}`, `Bearer ${a.live}`)).status, 200);
  });

  test("lists and the feed never show another account's or the other mode's events", async () => {
    const ids = async (key: string, query: Record<string, unknown> = {}) => {
      const res = await h.request('GET', '/v1/events', { key, query: { limit: 100, ...query } });
      assert.equal(res.status, 200, res.raw);
      return res.body.data.map((e: { id: string }) => e.id) as string[];
    };
    for (const key of [b.test, b.live]) {
      assert.deepEqual(await ids(key), []);
      assert.deepEqual(await ids(key, { sequence_after: 0 }), []);
      assert.deepEqual(await ids(key, { object_id: custA }), []);
      assert.deepEqual(await ids(key, { sequence_after: 0, object_id: custA }), []);
      // A cursor from another tenant reveals nothing either.
      assert.deepEqual(await ids(key, { ending_before: evtA }), []);
      assert.deepEqual(await ids(key, { starting_after: newId('evt') }), []);
    }
    assert.deepEqual(await ids(a.live, { object_id: custA }), []);
    assert.deepEqual(await ids(a.test), [evtA]);
    assert.deepEqual(await ids(a.live), [evtALive]);
  });

  test('the route and method are checked before the key', async () => {
    for (const [method, url, status] of [
      ['POST', '/v1/events', 405],
      ['DELETE', `/v1/events/${evtA}`, 405],
      ['PATCH', `/v1/events/${evtA}`, 405],
      ['GET', `/v1/events/${evtA}/extra`, 404],
      ['GET', '/v1/event', 404],
    ] as const) {
      for (const auth of [null, `Bearer ${base62(12)}`, `Bearer ${a.test}`]) {
        const res = await h.request(method, url, { headers: auth ? { authorization: auth } : {} });
        assert.equal(res.status, status, `${method} ${url} ${auth}: ${res.raw}`);
        if (status === 405) assert.equal(res.headers.allow, 'GET');
      }
    }
  });
});
