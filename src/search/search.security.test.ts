import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { forEachDatabase, type TestAccount, useHarness } from '../../test/helpers/harness.js';
import { createKey, revokeKey } from '../accounts/accounts.service.js';

// Search and export: who may call them, and whose customers they can ever return.

const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;
const ROUTES = [
  {
    name: 'search',
    url: (tag: string) => `/v1/customers/search?query=${encodeURIComponent(`email~"${tag}"`)}`,
  },
  { name: 'export (ndjson)', url: () => '/v1/customers/export' },
  { name: 'export (csv)', url: () => '/v1/customers/export?format=csv' },
];

forEachDatabase('search and export: keys, tenants and modes', (dialect) => {
  const { h } = useHarness(dialect);
  const tag = randomBytes(5).toString('hex');
  let a: TestAccount;
  let b: TestAccount;
  const mine = `mine-${tag}@example.com`;

  const get = (url: string, authorization?: string) =>
    h.app.inject({ method: 'GET', url, headers: authorization === undefined ? {} : { authorization } });

  test('setup: the same email in two accounts and both modes', async () => {
    a = await h.account('a');
    b = await h.account('b');
    for (const [key, email] of [
      [a.test, mine],
      [a.live, `live-${tag}@example.com`],
      [b.test, `theirs-${tag}@example.com`],
      [b.live, `theirs-live-${tag}@example.com`],
    ] as const) {
      assert.equal((await h.request('POST', '/v1/customers', { key, json: { email } })).status, 200);
    }
  });

  for (const route of ROUTES) {
    test(`${route.name}: no key, a bad key, a revoked key`, async () => {
      for (const auth of [undefined, '', 'Bearer ', basic('')]) {
        const res = await get(route.url(tag), auth);
        assert.equal(res.statusCode, 401, res.body);
        assert.equal(res.json().error.code, 'api_key_missing');
      }
      for (const key of ['garbage', `sk_test_${'x'.repeat(32)}`, `${a.test}x`]) {
        const res = await get(route.url(tag), `Bearer ${key}`);
        assert.equal(res.statusCode, 401);
        assert.equal(res.json().error.code, 'api_key_invalid');
        assert.ok(!res.body.includes(key), 'the key is not echoed');
      }
      const key = await createKey(h.db, a.id, 'test');
      assert.equal((await get(route.url(tag), `Bearer ${key.secret}`)).statusCode, 200);
      await revokeKey(h.db, key.id);
      const revoked = await get(route.url(tag), `Bearer ${key.secret}`);
      assert.equal(revoked.statusCode, 401);
      assert.equal(revoked.json().error.code, 'api_key_invalid');
    });

    test(`${route.name}: only the key's own account and mode, ever`, async () => {
      const seen = async (key: string) => {
        const res = await get(route.url(tag), `Bearer ${key}`);
        assert.equal(res.statusCode, 200, res.body);
        return (res.body.match(/[a-z-]+-[0-9a-f]{10}@example\.com/g) ?? []).sort();
      };
      assert.deepEqual(await seen(a.test), [mine]);
      assert.deepEqual(await seen(a.live), [`live-${tag}@example.com`]);
      assert.deepEqual(await seen(b.test), [`theirs-${tag}@example.com`]);
      assert.deepEqual(await seen(b.live), [`theirs-live-${tag}@example.com`]);
    });
  }

  test('search by a query that names every field of another tenant finds nothing of it', async () => {
    for (const query of [`email:"theirs-${tag}@example.com"`, `email~"theirs"`, `-email:null`, `created>0`]) {
      const res = await h.request('GET', '/v1/customers/search', {
        key: a.test,
        query: { query, limit: 100 },
      });
      assert.equal(res.status, 200);
      for (const c of res.body.data) assert.equal(c.email, mine, query);
    }
  });
});
