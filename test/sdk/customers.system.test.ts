import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { type Customer, InvalidRequestError, type LuniPay } from '../../sdk/src/index.js';
import { rejection } from '../../sdk/test/helpers.js';
import { CUSTOMER_ID, REQUEST_ID, useSdkServer } from './server.js';

/**
 * Every method of `lunipay.customers` against the real server: what the SDK sends (seen by the
 * proxy) and what it makes of the answers.
 */

describe('customers', () => {
  const { proxy, account, client } = useSdkServer();
  let lunipay: LuniPay;
  before(async () => {
    lunipay = client((await account()).key);
  });
  let ada: Customer;

  it('create → POST /v1/customers, returns the customer', async () => {
    proxy.reset();
    ada = await lunipay.customers.create({
      email: 'ada@example.com',
      first_name: 'Ada',
      last_name: 'Lovelace',
      phone: '+18765551234',
      company_name: 'Analytical Engines Ltd.',
      notes: 'VIP — priority support',
      metadata: { internal_id: 'ACCT-42' },
    });
    assert.match(ada.id, CUSTOMER_ID);
    assert.deepEqual(
      [
        ada.object,
        ada.livemode,
        ada.email,
        ada.first_name,
        ada.last_name,
        ada.phone,
        ada.company_name,
        ada.notes,
      ],
      [
        'customer',
        false,
        'ada@example.com',
        'Ada',
        'Lovelace',
        '+18765551234',
        'Analytical Engines Ltd.',
        'VIP — priority support',
      ],
    );
    assert.deepEqual(ada.metadata, { internal_id: 'ACCT-42' });
    assert.equal(ada.stripe_customer_id, null);
    assert.equal(typeof ada.created, 'number');
    assert.equal(typeof ada.updated, 'number');
    assert.equal(proxy.attempts[0]?.method, 'POST');
    assert.equal(proxy.attempts[0]?.path, '/v1/customers');
  });

  it('create with only an email gives the defaults', async () => {
    const c = await lunipay.customers.create({ email: 'min@example.com' });
    assert.deepEqual(
      [c.first_name, c.last_name, c.phone, c.company_name, c.notes, c.metadata],
      ['', '', null, null, null, null],
    );
  });

  it('retrieve → GET /v1/customers/:id', async () => {
    proxy.reset();
    assert.deepEqual(await lunipay.customers.retrieve(ada.id), ada);
    assert.equal(proxy.attempts[0]?.method, 'GET');
    assert.equal(proxy.attempts[0]?.path, `/v1/customers/${ada.id}`);
    assert.equal(proxy.attempts[0]?.idempotencyKey, undefined, 'GETs carry no Idempotency-Key');
  });

  it('update → PATCH /v1/customers/:id with only the given fields; null clears, metadata merges', async () => {
    proxy.reset();
    const updated = await lunipay.customers.update(ada.id, {
      phone: null,
      metadata: { plan: 'pro', internal_id: null },
    });
    assert.equal(proxy.attempts[0]?.method, 'PATCH');
    assert.deepEqual(JSON.parse(proxy.attempts[0]?.body ?? ''), {
      phone: null,
      metadata: { plan: 'pro', internal_id: null },
    });
    assert.equal(updated.id, ada.id);
    assert.equal(updated.phone, null);
    assert.deepEqual(updated.metadata, { plan: 'pro' });
    assert.equal(updated.first_name, 'Ada', 'fields not sent are unchanged');
    const merged = await lunipay.customers.update(ada.id, { metadata: { internal_id: 'ACCT-42' } });
    assert.deepEqual(merged.metadata, { plan: 'pro', internal_id: 'ACCT-42' }, 'metadata is merged');
    ada = merged;
  });

  it('update with {} changes nothing', async () => {
    const before = await lunipay.customers.retrieve(ada.id);
    assert.deepEqual(await lunipay.customers.update(ada.id, {}), before);
  });

  it('list → GET /v1/customers with the query, one page when awaited', async () => {
    proxy.reset();
    const page = await lunipay.customers.list({
      limit: 1,
      email: 'ADA@example.com',
      created: { gte: 0, lt: 2 ** 31 },
    });
    assert.deepEqual([page.object, page.url, page.has_more], ['list', '/v1/customers', false]);
    assert.deepEqual(page.data, [ada]);
    const query = new URLSearchParams(proxy.attempts[0]?.query);
    assert.deepEqual(Object.fromEntries(query), {
      limit: '1',
      email: 'ADA@example.com',
      'created[gte]': '0',
      'created[lt]': String(2 ** 31),
    });
  });

  it('list with no params: every customer of the key, newest first', async () => {
    const page = await lunipay.customers.list();
    assert.equal(page.data.length, 2);
    assert.ok(page.data[0] && page.data[1] && page.data[0].id > page.data[1].id, 'newest first');
    assert.equal(page.data[1]?.id, ada.id);
  });

  it('del → DELETE /v1/customers/:id, without a body; then 404', async () => {
    proxy.reset();
    const deleted = await lunipay.customers.del(ada.id);
    assert.deepEqual(deleted, { id: ada.id, object: 'customer', deleted: true });
    assert.equal(proxy.attempts[0]?.method, 'DELETE');
    assert.equal(proxy.attempts[0]?.body, '');
    assert.equal(proxy.attempts[0]?.contentType, undefined);
    const err = await rejection(lunipay.customers.retrieve(ada.id));
    assert.ok(err instanceof InvalidRequestError);
    assert.deepEqual([err.code, err.status, err.param], ['resource_missing', 404, 'id']);
    assert.match(err.requestId ?? '', REQUEST_ID);
    assert.equal((await lunipay.customers.list({ email: 'ada@example.com' })).data.length, 0);
  });

  it('ids are URL-encoded, and an empty id is a TypeError rather than a request to the list route', async () => {
    proxy.reset();
    const err = await rejection(lunipay.customers.retrieve('../customers?limit=1'));
    assert.ok(err instanceof InvalidRequestError);
    assert.equal(proxy.attempts[0]?.path, '/v1/customers/..%2Fcustomers%3Flimit%3D1');
    await assert.rejects(lunipay.customers.retrieve(''), TypeError);
    await assert.rejects(lunipay.customers.update('', {}), TypeError);
    await assert.rejects(lunipay.customers.del(''), TypeError);
    await assert.rejects(lunipay.customers.retrieve('.'), TypeError);
    await assert.rejects(lunipay.customers.retrieve('..'), TypeError);
    await assert.rejects(lunipay.customers.retrieve(42 as unknown as string), TypeError);
    assert.equal(proxy.attempts.length, 1);
  });
});
