import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createKey, revokeKey } from '../../src/accounts/accounts.service.js';
import { newId } from '../../src/ids.js';
import { hashToken } from '../../src/portal/secrets.js';
import { assertErrorEnvelope } from '../helpers/errors.js';
import { forEachDatabase, type Harness, useHarness } from '../helpers/harness.js';

async function customer(h: Harness, key: string, email = 'ada@example.com'): Promise<string> {
  const res = await h.request('POST', '/v1/customers', { key, json: { email, notes: 'VIP, owes us' } });
  assert.equal(res.status, 200, res.raw);
  return res.body.id;
}

async function session(h: Harness, key: string, cus: string, extra: Record<string, unknown> = {}) {
  const res = await h.request('POST', '/v1/portal_sessions', { key, json: { customer: cus, ...extra } });
  assert.equal(res.status, 200, res.raw);
  return res.body;
}

const rows = (h: Harness) => h.db.kysely.selectFrom('portal_sessions').selectAll().orderBy('id').execute();

forEachDatabase('portal sessions API', (dialect) => {
  const { h, acct } = useHarness(dialect, { LUNIPAY_PUBLIC_URL: 'https://pay.example.com' });

  test('create answers the session with its url once; the token is stored only as a hash', async () => {
    const cus = await customer(h, acct.test);
    const before = Math.floor(Date.now() / 1000);
    const s = await session(h, acct.test, cus, { return_url: 'https://shop.example/account' });
    assert.match(s.id, /^ps_/);
    assert.equal(s.object, 'portal_session');
    assert.equal(s.customer, cus);
    assert.equal(s.livemode, false);
    assert.equal(s.source, 'api');
    assert.equal(s.status, 'open');
    assert.equal(s.return_url, 'https://shop.example/account');
    assert.equal(s.opened_at, null);
    assert.equal(s.last_active_at, null);
    assert.ok(s.created >= before);
    assert.equal(s.expires_at - s.created, 300);
    const match = /^https:\/\/pay\.example\.com\/portal\/session\/([A-Za-z0-9_-]{43})$/.exec(s.url);
    assert.ok(match, s.url);
    const token = match[1] as string;
    const stored = (await rows(h)).find((r) => r.id === s.id);
    assert.equal(stored?.token_hash, hashToken(token));
    const dump = JSON.stringify(await h.db.kysely.selectFrom('idempotency_keys').selectAll().execute());
    assert.ok(!JSON.stringify(await rows(h)).includes(token));
    assert.ok(!dump.includes(token));

    const got = await h.request('GET', `/v1/portal_sessions/${s.id}`, { key: acct.test });
    assert.equal(got.status, 200, got.raw);
    assert.equal(got.body.url, undefined);
    const { url: _, ...withoutUrl } = s;
    assert.deepEqual(got.body, withoutUrl);
  });

  test('expires_in sets the expiry; an idempotent create replays the same url', async () => {
    const cus = await customer(h, acct.test);
    const headers = { 'idempotency-key': `k-${newId('req')}` };
    const first = await h.request('POST', '/v1/portal_sessions', {
      key: acct.test,
      headers,
      json: { customer: cus, expires_in: 3600 },
    });
    const again = await h.request('POST', '/v1/portal_sessions', {
      key: acct.test,
      headers,
      json: { customer: cus, expires_in: 3600 },
    });
    assert.equal(first.status, 200, first.raw);
    assert.equal(first.body.expires_at - first.body.created, 3600);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.deepEqual(again.body, first.body);
    assert.equal((await rows(h)).filter((r) => r.customer_id === cus).length, 1);
    const stored = JSON.stringify(await h.db.kysely.selectFrom('idempotency_keys').selectAll().execute());
    assert.ok(!stored.includes(first.body.url));
  });

  test('list by customer, newest first, with cursors; revoke makes it revoked, twice is fine', async () => {
    const cus = await customer(h, acct.test);
    const made: any[] = [];
    for (let i = 0; i < 3; i++) made.push(await session(h, acct.test, cus));
    const page = await h.request('GET', '/v1/portal_sessions', {
      key: acct.test,
      query: { customer: cus, limit: 2 },
    });
    assert.equal(page.status, 200, page.raw);
    assert.deepEqual(
      page.body.data.map((s: { id: string }) => s.id),
      [made[2].id, made[1].id],
    );
    assert.equal(page.body.has_more, true);
    const next = await h.request('GET', '/v1/portal_sessions', {
      key: acct.test,
      query: { customer: cus, starting_after: made[1].id },
    });
    assert.deepEqual(
      next.body.data.map((s: { id: string }) => s.id),
      [made[0].id],
    );
    for (let i = 0; i < 2; i++) {
      const revoked: { status: number; raw: string; body: { status: string } } = await h.request(
        'POST',
        `/v1/portal_sessions/${made[0].id}/revoke`,
        { key: acct.test },
      );
      assert.equal(revoked.status, 200, revoked.raw);
      assert.equal(revoked.body.status, 'revoked');
    }
  });

  test('bad input: a clear 400 or 404, nothing written', async () => {
    const cus = await customer(h, acct.test);
    const count = (await rows(h)).length;
    const cases: [unknown, number, string, string][] = [
      [{}, 400, 'parameter_missing', 'customer'],
      [{ customer: cus, expires_in: 59 }, 400, 'parameter_invalid', 'expires_in'],
      [{ customer: cus, expires_in: 3601 }, 400, 'parameter_invalid', 'expires_in'],
      [{ customer: cus, expires_in: 'soon' }, 400, 'parameter_invalid', 'expires_in'],
      [{ customer: cus, return_url: 'ftp://shop.example/' }, 400, 'parameter_invalid', 'return_url'],
      [{ customer: cus, return_url: 'not a url' }, 400, 'parameter_invalid', 'return_url'],
      [
        { customer: cus, return_url: 'https://user:pw@shop.example/' },
        400,
        'parameter_invalid',
        'return_url',
      ],
      [
        { customer: cus, return_url: `https://shop.example/${'a'.repeat(2048)}` },
        400,
        'parameter_invalid',
        'return_url',
      ],
      [{ customer: cus, colour: 'red' }, 400, 'parameter_unknown', 'colour'],
      [{ customer: 'cus_nope' }, 404, 'resource_missing', 'customer'],
      [{ customer: newId('cus') }, 404, 'resource_missing', 'customer'],
    ];
    for (const [json, status, code, param] of cases) {
      const res = await h.request('POST', '/v1/portal_sessions', { key: acct.test, json });
      assertErrorEnvelope(res, status, code as never, param);
    }
    // Live mode takes https return URLs only.
    const live = await customer(h, acct.live);
    const res = await h.request('POST', '/v1/portal_sessions', {
      key: acct.live,
      json: { customer: live, return_url: 'http://shop.example/' },
    });
    assertErrorEnvelope(res, 400, 'parameter_invalid', 'return_url');
    assertErrorEnvelope(
      await h.request('GET', '/v1/portal_sessions', { key: acct.test }),
      400,
      'parameter_missing',
      'customer',
    );
    assertErrorEnvelope(
      await h.request('GET', '/v1/portal_sessions', {
        key: acct.test,
        query: { customer: cus, starting_after: 'x' },
      }),
      400,
      'parameter_invalid',
      'starting_after',
    );
    assertErrorEnvelope(
      await h.request('GET', '/v1/portal_sessions/ps_nope', { key: acct.test }),
      404,
      'resource_missing',
      'id',
    );
    assert.equal((await rows(h)).length, count);
  });

  test('no key, a bad key, a revoked key → 401 on every route, nothing done', async () => {
    const cus = await customer(h, acct.test);
    const s = await session(h, acct.test, cus);
    const revoked = await createKey(h.db, acct.id, 'test');
    await revokeKey(h.db, revoked.id);
    const before = await rows(h);
    const routes: [string, string, unknown][] = [
      ['POST', '/v1/portal_sessions', { customer: cus }],
      ['GET', `/v1/portal_sessions?customer=${cus}`, undefined],
      ['GET', `/v1/portal_sessions/${s.id}`, undefined],
      ['POST', `/v1/portal_sessions/${s.id}/revoke`, {}],
    ];
    for (const [method, url, json] of routes) {
      for (const [authorization, code] of [
        [undefined, 'api_key_missing'],
        ['Bearer sk_test_0123456789abcdefghijklmnopqrstuv', 'api_key_invalid'],
        [`Bearer ${revoked.secret}`, 'api_key_invalid'],
      ] as const) {
        const res = await h.request(method, url, {
          ...(json === undefined ? {} : { json }),
          headers: authorization ? { authorization } : {},
        });
        assertErrorEnvelope(res, 401, code, null);
      }
    }
    assert.deepEqual(await rows(h), before);
  });

  test("another account's or the other mode's customer and session are 404s, nothing done", async () => {
    const other = await h.account('Other');
    const cus = await customer(h, acct.test);
    const s = await session(h, acct.test, cus);
    const before = await rows(h);
    for (const key of [other.test, other.live, acct.live]) {
      assertErrorEnvelope(
        await h.request('POST', '/v1/portal_sessions', { key, json: { customer: cus } }),
        404,
        'resource_missing',
        'customer',
      );
      assertErrorEnvelope(
        await h.request('GET', '/v1/portal_sessions', { key, query: { customer: cus } }),
        404,
        'resource_missing',
        'customer',
      );
      assertErrorEnvelope(
        await h.request('GET', `/v1/portal_sessions/${s.id}`, { key }),
        404,
        'resource_missing',
        'id',
      );
      assertErrorEnvelope(
        await h.request('POST', `/v1/portal_sessions/${s.id}/revoke`, { key }),
        404,
        'resource_missing',
        'id',
      );
    }
    const otherMode = await h.request('POST', '/v1/portal_sessions', {
      key: acct.live,
      json: { customer: cus },
    });
    assert.match(otherMode.body.error.message, /similar object exists in test mode/);
    assert.deepEqual(await rows(h), before);
  });

  test('deleting the customer ends its portal sessions', async () => {
    const cus = await customer(h, acct.test);
    const s = await session(h, acct.test, cus);
    assert.equal((await h.request('DELETE', `/v1/customers/${cus}`, { key: acct.test })).status, 200);
    assertErrorEnvelope(
      await h.request('GET', `/v1/portal_sessions/${s.id}`, { key: acct.test }),
      404,
      'resource_missing',
      'id',
    );
    assert.equal((await rows(h)).filter((r) => r.customer_id === cus).length, 0);
  });
});
