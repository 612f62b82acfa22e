import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Customer, InvalidRequestError, type LuniPay } from '../src/index.js';
import type { FaultyServer } from './fault-server.js';
import { clientFor, rejection } from './helpers.js';
import { freshKey, startStub } from './stub-server.js';

let server: FaultyServer;
let lunipay: LuniPay;
before(async () => {
  ({ server } = await startStub());
  lunipay = clientFor(server, freshKey());
});
after(() => server.close());

const ID = /^cus_[0-9A-HJKMNP-TV-Z]{26}$/;

describe('customers', () => {
  let ada: Customer;

  it('create → POST /v1/customers, returns the customer', async () => {
    server.reset();
    ada = await lunipay.customers.create({
      email: 'ada@example.com',
      first_name: 'Ada',
      last_name: 'Lovelace',
      phone: '+18765551234',
      company_name: 'Analytical Engines Ltd.',
      notes: 'VIP — priority support',
      metadata: { internal_id: 'ACCT-42' },
    });
    assert.match(ada.id, ID);
    assert.equal(ada.object, 'customer');
    assert.equal(ada.livemode, false);
    assert.equal(ada.email, 'ada@example.com');
    assert.deepEqual(ada.metadata, { internal_id: 'ACCT-42' });
    assert.equal(ada.stripe_customer_id, null);
    assert.equal(typeof ada.created, 'number');
    assert.equal(server.attempts[0]?.method, 'POST');
    assert.equal(server.attempts[0]?.path, '/v1/customers');
  });

  it('create with only an email gives the contract defaults', async () => {
    const c = await lunipay.customers.create({ email: 'min@example.com' });
    assert.equal(c.first_name, '');
    assert.equal(c.last_name, '');
    assert.equal(c.phone, null);
    assert.equal(c.metadata, null);
  });

  it('retrieve → GET /v1/customers/:id', async () => {
    server.reset();
    const got = await lunipay.customers.retrieve(ada.id);
    assert.deepEqual(got, ada);
    assert.equal(server.attempts[0]?.method, 'GET');
    assert.equal(server.attempts[0]?.path, `/v1/customers/${ada.id}`);
    assert.equal(server.attempts[0]?.idempotencyKey, undefined, 'GETs carry no Idempotency-Key');
  });

  it('update → PATCH /v1/customers/:id with only the given fields; null clears, metadata merges', async () => {
    server.reset();
    const updated = await lunipay.customers.update(ada.id, {
      phone: null,
      metadata: { plan: 'pro', internal_id: null },
    });
    assert.equal(server.attempts[0]?.method, 'PATCH');
    assert.deepEqual(JSON.parse(server.attempts[0]?.body ?? ''), {
      phone: null,
      metadata: { plan: 'pro', internal_id: null },
    });
    assert.equal(updated.phone, null);
    assert.deepEqual(updated.metadata, { plan: 'pro' });
    assert.equal(updated.first_name, 'Ada', 'fields not sent are unchanged');
  });

  it('update with {} changes nothing', async () => {
    const before = await lunipay.customers.retrieve(ada.id);
    const after = await lunipay.customers.update(ada.id, {});
    assert.deepEqual(after, before);
  });

  it('list → GET /v1/customers with the query, one page when awaited', async () => {
    server.reset();
    const page = await lunipay.customers.list({
      limit: 1,
      email: 'ADA@example.com',
      created: { gte: 0, lt: 2 ** 31 },
    });
    assert.equal(page.object, 'list');
    assert.equal(page.url, '/v1/customers');
    assert.equal(page.has_more, false);
    assert.deepEqual(
      page.data.map((c) => c.id),
      [ada.id],
    );
    const query = new URLSearchParams(server.attempts[0]?.query);
    assert.deepEqual(Object.fromEntries(query), {
      limit: '1',
      email: 'ADA@example.com',
      'created[gte]': '0',
      'created[lt]': String(2 ** 31),
    });
  });

  it('list with no params', async () => {
    const page = await lunipay.customers.list();
    assert.equal(page.data.length, 2);
    assert.ok(page.data[0] && page.data[1] && page.data[0].id > page.data[1].id, 'newest first');
  });

  it('del → DELETE /v1/customers/:id, without a body; then 404', async () => {
    server.reset();
    const deleted = await lunipay.customers.del(ada.id);
    assert.deepEqual(deleted, { id: ada.id, object: 'customer', deleted: true });
    assert.equal(server.attempts[0]?.method, 'DELETE');
    assert.equal(server.attempts[0]?.body, '');
    assert.equal(server.attempts[0]?.contentType, undefined);
    const err = await rejection(lunipay.customers.retrieve(ada.id));
    assert.ok(err instanceof InvalidRequestError);
    assert.equal(err.code, 'resource_missing');
    assert.equal(err.status, 404);
  });

  it('ids are URL-encoded, and an empty id is a TypeError rather than a request to the list route', async () => {
    server.reset();
    const err = await rejection(lunipay.customers.retrieve('../customers?limit=1'));
    assert.ok(err instanceof InvalidRequestError);
    assert.equal(server.attempts[0]?.path, '/v1/customers/..%2Fcustomers%3Flimit%3D1');
    await assert.rejects(lunipay.customers.retrieve(''), TypeError);
    await assert.rejects(lunipay.customers.update('', {}), TypeError);
    await assert.rejects(lunipay.customers.del(''), TypeError);
    await assert.rejects(lunipay.customers.retrieve('.'), TypeError);
    await assert.rejects(lunipay.customers.retrieve('..'), TypeError);
    await assert.rejects(lunipay.customers.retrieve(42 as unknown as string), TypeError);
    assert.equal(server.attempts.length, 1);
  });
});
