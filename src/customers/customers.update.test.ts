import assert from 'node:assert/strict';
import { test } from 'node:test';
import { notFoundBody } from '../../test/helpers/errors.js';
import { forEachDatabase, useHarness } from '../../test/helpers/harness.js';

forEachDatabase('PATCH /v1/customers/:id', (dialect) => {
  const { h, acct } = useHarness(dialect);

  const create = async (body: Record<string, unknown> = {}) => {
    const res = await h.request('POST', '/v1/customers', {
      key: acct.test,
      json: { email: 'ada@example.com', ...body },
    });
    assert.equal(res.status, 200);
    return res.body;
  };
  const patch = (id: string, json: unknown) =>
    h.request('PATCH', `/v1/customers/${id}`, { key: acct.test, json });
  /** Moves the stored `updated` back so a change is visible within the same second. */
  const age = async (id: string) => {
    await h.db.kysely.updateTable('customers').set({ updated: 1_000_000 }).where('id', '=', id).execute();
  };

  test('updates a subset of fields and returns the whole customer', async () => {
    const c = await create({ first_name: 'Ada', phone: '+1', metadata: { a: '1' } });
    await age(c.id);
    const res = await patch(c.id, { last_name: 'Lovelace', phone: null });
    assert.equal(res.status, 200);
    assert.equal(res.body.first_name, 'Ada');
    assert.equal(res.body.last_name, 'Lovelace');
    assert.equal(res.body.phone, null);
    assert.deepEqual(res.body.metadata, { a: '1' });
    assert.equal(res.body.created, c.created);
    assert.ok(res.body.updated > 1_000_000);
    assert.deepEqual((await h.request('GET', `/v1/customers/${c.id}`, { key: acct.test })).body, res.body);
  });

  test('an empty body, or values equal to the stored ones, change nothing and keep updated', async () => {
    const c = await create({ first_name: 'Ada' });
    await age(c.id);
    for (const body of [{}, { first_name: 'Ada', email: 'ada@example.com', phone: null, metadata: {} }]) {
      const res = await patch(c.id, body);
      assert.equal(res.status, 200);
      assert.equal(res.body.updated, 1_000_000, JSON.stringify(body));
    }
    const empty = await h.request('POST', `/v1/customers/${c.id}`, { key: acct.test });
    assert.equal(empty.status, 200);
    assert.equal(empty.body.updated, 1_000_000);
  });

  test('POST /v1/customers/:id is the same update, and takes forms', async () => {
    const c = await create();
    const res = await h.request('POST', `/v1/customers/${c.id}`, {
      key: acct.test,
      payload: 'company_name=Analytical+Engines&metadata[tier]=gold',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.company_name, 'Analytical Engines');
    assert.deepEqual(res.body.metadata, { tier: 'gold' });
  });

  test('metadata merges key by key; "" and null remove a key; null or "" removes all', async () => {
    const c = await create({ metadata: { a: '1', b: '2', c: '3' } });
    let res = await patch(c.id, { metadata: { a: 'one', b: '', c: null, d: '4' } });
    assert.deepEqual(res.body.metadata, { a: 'one', d: '4' });
    res = await patch(c.id, { metadata: { a: null, d: '' } });
    assert.equal(res.body.metadata, null, 'no keys left is null');
    await patch(c.id, { metadata: { x: '1' } });
    res = await patch(c.id, { metadata: null });
    assert.equal(res.body.metadata, null);
    await patch(c.id, { metadata: { x: '1' } });
    res = await h.request('PATCH', `/v1/customers/${c.id}`, { key: acct.test, form: { metadata: '' } });
    assert.equal(res.status, 200);
    assert.equal(res.body.metadata, null);
  });

  test('the metadata limit applies to the merged result', async () => {
    const twenty = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, 'v']));
    const c = await create({ metadata: twenty });
    const over = await patch(c.id, { metadata: { extra: 'v' } });
    assert.equal(over.status, 400);
    assert.deepEqual(over.body.error.code, 'parameter_invalid');
    assert.equal(over.body.error.param, 'metadata');
    const swap = await patch(c.id, { metadata: { k0: null, extra: 'v' } });
    assert.equal(swap.status, 200);
    assert.equal(Object.keys(swap.body.metadata).length, 20);
  });

  test('email, first_name and last_name cannot be null; email cannot be empty', async () => {
    const c = await create();
    for (const body of [{ email: null }, { first_name: null }, { last_name: null }, { email: '' }]) {
      const res = await patch(c.id, body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.error.code, 'parameter_invalid');
      assert.equal(res.body.error.param, Object.keys(body)[0]);
    }
    const after = await h.request('GET', `/v1/customers/${c.id}`, { key: acct.test });
    assert.deepEqual(after.body, c, 'rejected updates leave the customer as it was');
  });

  test('a changed email is what the email filter finds', async () => {
    const c = await create({ email: 'old@example.com' });
    await patch(c.id, { email: 'New@Example.com' });
    const found = await h.request('GET', '/v1/customers', {
      key: acct.test,
      query: { email: 'new@example.COM' },
    });
    assert.deepEqual(
      found.body.data.map((x: { id: string }) => x.id),
      [c.id],
    );
    const old = await h.request('GET', '/v1/customers', {
      key: acct.test,
      query: { email: 'old@example.com' },
    });
    assert.equal(old.body.data.length, 0);
  });

  test('unknown, malformed and deleted ids are 404 resource_missing', async () => {
    const c = await create();
    await h.request('DELETE', `/v1/customers/${c.id}`, { key: acct.test });
    for (const id of [
      'cus_nope',
      'cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY',
      c.id,
      'acct_01JRZK2Q4T9ZS0VCNA3HX7W9EY',
    ]) {
      const res = await patch(id, { first_name: 'x' });
      assert.equal(res.status, 404);
      assert.deepEqual(res.body, notFoundBody('customer', id));
    }
  });
});
