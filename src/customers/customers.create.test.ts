import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forEachDatabase, useHarness } from '../../test/helpers/harness.js';

forEachDatabase('POST /v1/customers', (dialect) => {
  const { h, acct } = useHarness(dialect);

  const create = (body: unknown, key: string | null = acct.test) =>
    h.request('POST', '/v1/customers', { key, json: body });

  test('creates a customer with every field, as JSON', async () => {
    const every = {
      email: 'Ada@Example.com',
      first_name: 'Ada',
      last_name: 'Lovelace',
      phone: '+18765551234',
      company_name: 'Analytical Engines Ltd.',
      notes: 'VIP — priority support',
      metadata: { internal_id: 'ACCT-42' },
    };
    const res = await create(every);
    assert.equal(res.status, 200);
    assert.match(res.body.id, /^cus_[0-7][0-9A-HJKMNP-TV-Z]{25}$/);
    assert.deepEqual(
      { ...res.body, id: undefined, created: undefined, updated: undefined },
      {
        id: undefined,
        object: 'customer',
        livemode: false,
        ...every,
        stripe_customer_id: null,
        created: undefined,
        updated: undefined,
      },
    );
    assert.equal(res.body.created, res.body.updated);
    assert.ok(Math.abs(res.body.created - Date.now() / 1000) < 5);
    assert.match(String(res.headers['request-id']), /^req_[0-7][0-9A-HJKMNP-TV-Z]{25}$/);
    const again = await h.request('GET', `/v1/customers/${res.body.id}`, { key: acct.test });
    assert.deepEqual(again.body, res.body);
  });

  test('defaults: names are "", the rest null; the live key makes live customers', async () => {
    const res = await create({ email: 'a@b' }, acct.live);
    assert.equal(res.status, 200);
    assert.equal(res.body.livemode, true);
    assert.equal(res.body.first_name, '');
    assert.equal(res.body.last_name, '');
    for (const field of ['phone', 'company_name', 'notes', 'metadata', 'stripe_customer_id']) {
      assert.equal(res.body[field], null, field);
    }
  });

  test('form bodies with bracket notation are the same as JSON', async () => {
    const res = await h.request('POST', '/v1/customers', {
      key: acct.test,
      payload:
        'email=grace%40example.com&first_name=Grace&metadata[internal_id]=ACCT-42&metadata[tier]=gold&phone=',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.email, 'grace@example.com');
    assert.deepEqual(res.body.metadata, { internal_id: 'ACCT-42', tier: 'gold' });
    assert.equal(res.body.phone, null);
  });

  test('empty strings mean nothing; metadata keys with ""/null values are dropped', async () => {
    const res = await create({
      email: 'x@y.z',
      first_name: '',
      phone: '',
      company_name: '',
      notes: null,
      metadata: { a: '', b: null, c: 'kept' },
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.first_name, '');
    assert.equal(res.body.phone, null);
    assert.equal(res.body.company_name, null);
    assert.equal(res.body.notes, null);
    assert.deepEqual(res.body.metadata, { c: 'kept' });
    for (const metadata of [{}, null, '', { only: null }]) {
      const r = await create({ email: 'x@y.z', metadata });
      assert.equal(r.status, 200);
      assert.equal(r.body.metadata, null, JSON.stringify(metadata));
    }
  });

  test('strings are stored as given: no trimming or case folding; lengths count code points', async () => {
    const res = await create({ email: ' a@b', first_name: '  Ada  ' });
    assert.equal(res.status, 400, 'whitespace is not allowed in an email');
    const ok = await create({ email: 'MiXeD@Case.io', first_name: '  Ada  ', last_name: '😀'.repeat(255) });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.first_name, '  Ada  ');
    assert.equal(ok.body.last_name, '😀'.repeat(255));
    assert.equal(ok.body.email, 'MiXeD@Case.io');
  });

  test('later customers have larger ids', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push((await create({ email: `n${i}@x.io` })).body.id);
    assert.deepEqual([...ids].sort(), ids);
  });
});
