import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as accounts from '../../src/accounts/accounts.service.js';
import { forEachDatabase } from '../../test/helpers/harness.js';
import { stripeOutside, useStripeSuite } from '../../test/helpers/stripe.js';
import { connectStripeAccount } from './stripe-backfill.js';

/** A Stripe customer deleted outside LuniPay, and the account's connected account changing. */
forEachDatabase('Stripe customers kept in step', (dialect) => {
  const { s, m } = useStripeSuite(dialect);

  const api = (method: string, url: string, json?: unknown) =>
    s.h.request(method, url, { key: m.test, ...(json === undefined ? {} : { json }) });
  const create = async (json: Record<string, unknown>) =>
    (await api('POST', '/v1/customers', json)).body.id as string;
  const stripeIdOf = async (id: string) => (await api('GET', `/v1/customers/${id}`)).body.stripe_customer_id;
  const creates = () => s.fake.requests.filter((r) => r.method === 'POST' && r.path === '/v1/customers');
  const connect = (stripeAccount: string | null) =>
    connectStripeAccount({ db: s.h.db, gateway: s.gateway }, m.id, stripeAccount);

  test('deleted in Stripe, then updated in LuniPay: a new Stripe customer with the current fields, linked, with its event', async () => {
    const id = await create({ email: 'gone@example.com', first_name: 'Ada', metadata: { tier: 'gold' } });
    await s.runUntilIdle();
    const old = await stripeIdOf(id);
    await stripeOutside(s, 'DELETE', `/v1/customers/${old}`, m.stripeAccount);
    assert.deepEqual(s.fake.customers(m.stripeAccount), []);

    await api('PATCH', `/v1/customers/${id}`, { last_name: 'Lovelace', metadata: { tier: 'platinum' } });
    await s.runUntilIdle();
    const [made] = s.fake.customers(m.stripeAccount);
    assert.equal(s.fake.customers(m.stripeAccount).length, 1);
    assert.notEqual(made?.id, old);
    assert.deepEqual(
      [made?.email, made?.name, made?.metadata],
      ['gone@example.com', 'Ada Lovelace', { tier: 'platinum', lunipay_customer_id: id }],
    );
    assert.equal(await stripeIdOf(id), made?.id);
    assert.equal(creates().at(-1)?.idempotencyKey, `lunipay:${id}:recreate:${old}`);
    assert.deepEqual(
      (await s.jobs(id)).map((j) => [j.type, j.state]),
      [
        ['provision_customer', 'succeeded'],
        ['update_customer', 'succeeded'],
        ['provision_customer', 'succeeded'],
      ],
    );
    const events = (await s.h.request('GET', '/v1/events', { key: m.test, query: { sequence_after: 0 } }))
      .body.data as { type: string; data: { previous_attributes?: unknown }; request: { source: string } }[];
    const relink = events.at(-1);
    assert.deepEqual(
      [relink?.type, relink?.data.previous_attributes, relink?.request.source],
      ['customer.updated', { stripe_customer_id: old }, 'stripe_sync'],
    );

    // Later changes reach the new one.
    await api('PATCH', `/v1/customers/${id}`, { phone: '+1 555 0100' });
    await s.runUntilIdle();
    assert.equal(s.fake.customers(m.stripeAccount)[0]?.phone, '+1 555 0100');
  });

  test('deleted in Stripe, then deleted in LuniPay: done, no error', async () => {
    const id = await create({ email: 'twice@example.com' });
    await s.runUntilIdle();
    await stripeOutside(s, 'DELETE', `/v1/customers/${await stripeIdOf(id)}`, m.stripeAccount);
    await api('DELETE', `/v1/customers/${id}`);
    await s.runUntilIdle();
    assert.deepEqual(
      (await s.jobs(id)).map((j) => [j.type, j.state, j.last_error]),
      [
        ['provision_customer', 'succeeded', null],
        ['delete_customer', 'succeeded', null],
      ],
    );
    assert.equal(s.fake.requests.at(-1)?.status, 404);
    const links = await s.h.db.kysely
      .selectFrom('stripe_customers')
      .selectAll()
      .where('customer_id', '=', id)
      .execute();
    assert.deepEqual(links, []);
  });

  test('another connected account: customers made afresh there with current fields, the old ones left alone', async () => {
    const ids = [await create({ email: 'a@example.com' }), await create({ email: 'b@example.com' })];
    await s.runUntilIdle();
    const oldIds = await Promise.all(ids.map(stripeIdOf));
    await api('PATCH', `/v1/customers/${ids[0]}`, { first_name: 'Moved' });
    const { queued } = await connect('acct_another1');
    assert.equal(queued, 2);
    await s.runUntilIdle();
    const there = s.fake.customers('acct_another1');
    assert.deepEqual(there.map((c) => c.metadata.lunipay_customer_id).sort(), [...ids].sort());
    assert.equal(there.find((c) => c.metadata.lunipay_customer_id === ids[0])?.name, 'Moved');
    // The old connected account keeps its customers, untouched by the change made meanwhile.
    assert.deepEqual(
      s.fake.customers(m.stripeAccount).map((c) => [c.id, c.name]),
      oldIds.map((old) => [old, null]),
    );
    for (const id of ids) {
      assert.equal(await stripeIdOf(id), there.find((c) => c.metadata.lunipay_customer_id === id)?.id);
    }
    // Connecting again queues nothing new.
    assert.equal((await connect('acct_another1')).queued, 0);
    await api('DELETE', `/v1/customers/${ids[1]}`);
    await s.runUntilIdle();
    assert.equal(s.fake.customers('acct_another1').length, 1);
    assert.equal(s.fake.customers(m.stripeAccount).length, 2);
  });

  test('no connected account stops every push and keeps the links; the same account again pushes what changed', async () => {
    const [kept, changed, deleted] = [
      await create({ email: 'k@example.com' }),
      await create({ email: 'c@example.com' }),
      await create({ email: 'd@example.com' }),
    ];
    await s.runUntilIdle();
    // A push already queued when the account is disconnected does not go out either.
    await api('PATCH', `/v1/customers/${changed}`, { first_name: 'Queued' });
    assert.equal((await connect(null)).queued, 0);
    await api('PATCH', `/v1/customers/${changed}`, { last_name: 'Meanwhile' });
    await api('DELETE', `/v1/customers/${deleted}`);
    const before = s.fake.requests.length;
    await s.runUntilIdle();
    assert.equal(s.fake.requests.length, before);
    assert.equal(s.fake.customers(m.stripeAccount).length, 3);
    const links = await s.h.db.kysely
      .selectFrom('stripe_customers')
      .select('customer_id')
      .where('account_id', '=', m.id)
      .execute();
    assert.equal(links.length, 3);

    const { queued } = await connect(m.stripeAccount);
    assert.equal(queued, 2);
    await s.runUntilIdle();
    const now = s.fake.customers(m.stripeAccount);
    assert.deepEqual(now.map((c) => c.metadata.lunipay_customer_id).sort(), [kept, changed].sort());
    assert.equal(now.find((c) => c.metadata.lunipay_customer_id === changed)?.name, 'Queued Meanwhile');
    assert.equal(creates().length, 3);
    assert.equal((await connect(m.stripeAccount)).queued, 0);
  });

  test('an account that does not exist or a malformed connected account id is refused, nothing queued', async () => {
    await assert.rejects(
      connectStripeAccount({ db: s.h.db, gateway: s.gateway }, 'acct_nope', 'acct_x1'),
      /No such account/,
    );
    await assert.rejects(connect('not-an-account'), /is not a Stripe connected account id/);
    assert.equal((await accounts.getAccount(s.h.db, m.id)).stripe_account_id, m.stripeAccount);
    assert.deepEqual(
      (await s.jobs()).filter((j) => j.account_id === m.id),
      [],
    );
  });
});
