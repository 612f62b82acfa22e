import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createKey, revokeKey } from '../src/accounts/accounts.service.js';
import { newId } from '../src/ids.js';
import { assertErrorEnvelope } from './helpers/errors.js';
import {
  type ApiResponse,
  forEachDatabase,
  type Harness,
  type RequestOptions,
  startHarness,
  type TestAccount,
} from './helpers/harness.js';

/**
 * The three delivery routes: keys, tenants and modes, and every parameter wrong. Whatever is
 * refused writes nothing: no delivery job, no attempt, no stored idempotent answer.
 */

interface Target {
  endpoint: string;
  event: string;
}
interface Route {
  name: string;
  method: 'GET' | 'POST';
  url: (t: Target) => string;
  options: (t: Target) => RequestOptions;
  /** which id of the target the route's 404 names */
  missing: 'endpoint' | 'event';
}

const since = () => Math.floor(Date.now() / 1000) - 60;
const ROUTES: Route[] = [
  {
    name: 'GET /v1/webhook_endpoints/:id/attempts',
    method: 'GET',
    url: (t) => `/v1/webhook_endpoints/${t.endpoint}/attempts`,
    options: () => ({}),
    missing: 'endpoint',
  },
  {
    name: 'POST /v1/events/:id/resend',
    method: 'POST',
    url: (t) => `/v1/events/${t.event}/resend`,
    options: (t) => ({ json: { endpoint: t.endpoint } }),
    missing: 'event',
  },
  {
    name: 'POST /v1/webhook_endpoints/:id/recover',
    method: 'POST',
    url: (t) => `/v1/webhook_endpoints/${t.endpoint}/recover`,
    options: () => ({ json: { since: since() } }),
    missing: 'endpoint',
  },
];

forEachDatabase('webhook deliveries: security and bad input', (dialect) => {
  let h: Harness;
  let a: TestAccount;
  let b: TestAccount;
  /** An endpoint and one of its events, per mode of account a. */
  let test_: Target;
  let live: Target;

  before(async () => {
    h = await startHarness(dialect);
    a = await h.account('Owner');
    b = await h.account('Other');
    test_ = await target(a.test);
    live = await target(a.live);
  });
  after(() => h.close());

  async function target(key: string): Promise<Target> {
    const we = await h.request('POST', '/v1/webhook_endpoints', {
      key,
      json: { url: 'https://example.com/hooks', enabled_events: ['*'] },
    });
    assert.equal(we.status, 200, we.raw);
    const made = await h.request('POST', '/v1/customers', { key, json: { email: 'sec@example.com' } });
    assert.equal(made.status, 200, made.raw);
    const events = await h.request('GET', '/v1/events', { key, query: { limit: 1 } });
    return { endpoint: we.body.id, event: events.body.data[0].id };
  }

  const send = (route: Route, t: Target, auth: string | null, extra: RequestOptions = {}) =>
    h.request(route.method, route.url(t), {
      ...route.options(t),
      ...extra,
      headers: { ...(auth === null ? {} : { authorization: auth }), ...(extra.headers ?? {}) },
    });
  /** Everything a delivery route could write. */
  const written = async () => {
    const count = async (table: 'jobs' | 'webhook_attempts' | 'idempotency_keys') =>
      Number(
        (
          await h.db.kysely
            .selectFrom(table)
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    return {
      jobs: await count('jobs'),
      attempts: await count('webhook_attempts'),
      idem: await count('idempotency_keys'),
    };
  };

  for (const route of ROUTES) {
    test(`${route.name}: no key, a bad key, a revoked key → 401, nothing written`, async () => {
      const revoked = await createKey(h.db, a.id, 'test');
      assert.equal((await send(route, test_, `Bearer ${revoked.secret}`)).status, 200);
      await revokeKey(h.db, revoked.id);
      const before = await written();
      for (const [auth, code] of [
        [null, 'api_key_missing'],
        ['Bearer ', 'api_key_missing'],
        ['Bearer sk_test_0123456789abcdefghijklmnopqrstuv', 'api_key_invalid'],
        [`Bearer ${a.test}x`, 'api_key_invalid'],
        [`Bearer ${revoked.secret}`, 'api_key_invalid'],
      ] as const) {
        const res = await send(route, test_, auth, { headers: { 'idempotency-key': `k-${auth}` } });
        assertErrorEnvelope(res, 401, code);
        assert.equal(res.body.error.type, 'authentication_error');
        assert.ok(!res.raw.includes(revoked.secret));
      }
      assert.deepEqual(await written(), before);
    });

    test(`${route.name}: another account's ${route.missing} is a 404 byte for byte like an unknown id`, async () => {
      const before = await written();
      const unknown = { ...test_, [route.missing]: newId(route.missing === 'event' ? 'evt' : 'we') };
      const id = test_[route.missing];
      const never = unknown[route.missing];
      for (const key of [b.test, b.live]) {
        const other = await send(route, test_, `Bearer ${key}`);
        const none = await send(route, unknown, `Bearer ${key}`);
        assertErrorEnvelope(other, 404, 'resource_missing', 'id');
        const what = route.missing === 'event' ? 'event' : 'webhook endpoint';
        assert.equal(other.body.error.message, `No such ${what}: '${id}'.`);
        assert.equal(other.raw.replaceAll(id, never), none.raw);
        assert.deepEqual(Object.keys(other.headers).sort(), Object.keys(none.headers).sort());
      }
      assert.deepEqual(await written(), before);
    });

    test(`${route.name}: the other mode's ${route.missing} is a 404`, async () => {
      const before = await written();
      for (const [key, t] of [
        [a.live, test_],
        [a.test, live],
      ] as const) {
        assertErrorEnvelope(await send(route, t, `Bearer ${key}`), 404, 'resource_missing', 'id');
      }
      assert.deepEqual(await written(), before);
    });
  }

  test("resend to another account's or the other mode's endpoint is a 404 naming endpoint", async () => {
    const before = await written();
    const theirs = await target(b.test);
    for (const endpoint of [theirs.endpoint, live.endpoint, newId('we')]) {
      const res = await h.request('POST', `/v1/events/${test_.event}/resend`, {
        key: a.test,
        json: { endpoint },
      });
      assertErrorEnvelope(res, 404, 'resource_missing', 'endpoint');
      assert.equal(res.body.error.message, `No such webhook endpoint: '${endpoint}'.`);
    }
    // Only the other account's own customer and its delivery were written.
    const after = await written();
    assert.equal(after.attempts, before.attempts);
    assert.equal(after.jobs, before.jobs + 1);
  });

  const now = () => Math.floor(Date.now() / 1000);
  type Code = 'parameter_invalid' | 'parameter_missing' | 'parameter_unknown';
  interface Bad {
    label: string;
    method: 'GET' | 'POST';
    url: () => string;
    options: RequestOptions;
    param: string;
    code: Code;
  }
  /** The code a wrong parameter gets: given but not known, absent, or present and wrong. */
  const codeOf = (given: Record<string, unknown>, param: string, known: string[]): Code =>
    !known.includes(param) ? 'parameter_unknown' : param in given ? 'parameter_invalid' : 'parameter_missing';
  const attempts = (query: Record<string, unknown>, param: string): Bad => ({
    label: `attempts ?${JSON.stringify(query)}`,
    method: 'GET',
    url: () => `/v1/webhook_endpoints/${test_.endpoint}/attempts`,
    options: { query },
    param,
    code: codeOf(query, param, ['limit', 'starting_after', 'ending_before', 'event']),
  });
  const resend = (json: Record<string, unknown>, param: string): Bad => ({
    label: `resend ${JSON.stringify(json)}`,
    method: 'POST',
    url: () => `/v1/events/${test_.event}/resend`,
    options: { json },
    param,
    code: codeOf(json, param, ['endpoint']),
  });
  const recover = (json: Record<string, unknown>, param: string): Bad => ({
    label: `recover ${JSON.stringify(json)}`,
    method: 'POST',
    url: () => `/v1/webhook_endpoints/${test_.endpoint}/recover`,
    options: { json },
    param,
    code: codeOf(json, param, ['since']),
  });
  /** Each request gets one thing wrong: a 400 naming that parameter. */
  const BAD = (): Bad[] => [
    attempts({ limit: 0 }, 'limit'),
    attempts({ limit: 101 }, 'limit'),
    attempts({ limit: 'ten' }, 'limit'),
    attempts({ limit: '1.5' }, 'limit'),
    attempts({ starting_after: 'wha_nope' }, 'starting_after'),
    attempts({ starting_after: newId('evt') }, 'starting_after'),
    attempts({ ending_before: 'x'.repeat(65) }, 'ending_before'),
    attempts({ ending_before: 'wha_' }, 'ending_before'),
    attempts({ event: 'x' }, 'event'),
    attempts({ event: newId('we') }, 'event'),
    attempts({ event: 'evt_' }, 'event'),
    attempts({ colour: 'red' }, 'colour'),
    resend({}, 'endpoint'),
    resend({ endpoint: 'we_nope' }, 'endpoint'),
    resend({ endpoint: 7 }, 'endpoint'),
    resend({ endpoint: null }, 'endpoint'),
    resend({ endpoint: newId('evt') }, 'endpoint'),
    resend({ endpoint: 'x'.repeat(65) }, 'endpoint'),
    resend({ endpoint: newId('we'), extra: 1 }, 'extra'),
    recover({}, 'since'),
    recover({ since: 'yesterday' }, 'since'),
    recover({ since: `${now() - 60}` }, 'since'),
    recover({ since: now() - 60.5 }, 'since'),
    recover({ since: null }, 'since'),
    recover({ since: now() + 3600 }, 'since'),
    recover({ since: 1 }, 'since'),
    // Just before retention (30 days by default), and long before it.
    recover({ since: now() - (h.config.events.retentionDays + 1) * 86_400 }, 'since'),
    recover({ since: now() - 400 * 86_400 }, 'since'),
    recover({ since: -1 }, 'since'),
    recover({ since: now() - 60, until: now() }, 'until'),
  ];

  test('every parameter wrong is a 400 in the envelope naming it, never a 500, nothing written', async () => {
    const before = await written();
    for (const bad of BAD()) {
      const res: ApiResponse = await h.request(bad.method, bad.url(), { key: a.test, ...bad.options });
      assert.equal(res.status, 400, `${bad.label}: ${res.raw}`);
      assertErrorEnvelope(res, 400, bad.code, bad.param);
    }
    assert.deepEqual(await written(), before);
  });

  test('the same wrong requests with an idempotency key store nothing either', async () => {
    const before = await written();
    for (const bad of BAD().filter((b) => b.method === 'POST')) {
      const headers = { 'idempotency-key': `bad-${bad.label}` };
      const res = await h.request(bad.method, bad.url(), { key: a.test, ...bad.options, headers });
      assertErrorEnvelope(res, 400, bad.code, bad.param);
    }
    assert.deepEqual(await written(), before);
  });

  test('a malformed or over-long path id is a 404 or a 400, never a 500, nothing written', async () => {
    const before = await written();
    for (const bad of ['nope', 'we_', 'evt_x', newId('cus'), 'x'.repeat(65), '%00', 'we_%27%20or%201%3D1']) {
      for (const route of ROUTES) {
        const res = await send(route, { endpoint: bad, event: bad }, `Bearer ${a.test}`);
        assert.ok([400, 404].includes(res.status), `${route.name} ${bad}: ${res.raw}`);
        assertErrorEnvelope(res, res.status, res.status === 404 ? 'resource_missing' : res.body.error.code);
        if (res.status === 400) assert.equal(res.body.error.param, 'id', `${route.name} ${bad}`);
      }
    }
    assert.deepEqual(await written(), before);
  });
});
