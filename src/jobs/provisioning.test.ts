import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forEachDatabase } from '../../test/helpers/harness.js';
import { LIVE_KEY, TEST_KEY, useStripeSuite } from '../../test/helpers/stripe.js';

forEachDatabase('Stripe provisioning', (dialect) => {
  const { s } = useStripeSuite(dialect);

  const api = (method: string, url: string, key: string, json?: unknown) =>
    s.h.request(method, url, { key, ...(json === undefined ? {} : { json }) });

  test('create, update and delete carry Stripe-Account, an idempotency key and the mode’s platform key; notes never leave', async () => {
    const m = await s.merchant();
    const created = await api('POST', '/v1/customers', m.test, {
      email: 'ada@example.com',
      first_name: 'Ada',
      last_name: 'Lovelace',
      phone: '+15555550100',
      notes: 'Secret note about Ada',
      metadata: { internal_id: 'A-1' },
    });
    assert.equal(created.status, 200);
    assert.equal(created.body.stripe_customer_id, null);
    const id: string = created.body.id;
    await s.drain();

    const [create] = s.fake.requests;
    assert.deepEqual(
      [create?.method, create?.path, create?.authorization, create?.stripeAccount, create?.idempotencyKey],
      ['POST', '/v1/customers', `Bearer ${TEST_KEY}`, m.stripeAccount, `lunipay:${id}:create`],
    );
    assert.deepEqual(create?.body, {
      email: 'ada@example.com',
      name: 'Ada Lovelace',
      phone: '+15555550100',
      metadata: { internal_id: 'A-1', lunipay_customer_id: id },
    });
    const [stripeCustomer] = s.fake.customers(m.stripeAccount);
    const provisioned = await api('GET', `/v1/customers/${id}`, m.test);
    assert.equal(provisioned.body.stripe_customer_id, stripeCustomer?.id);
    assert.ok(provisioned.body.updated >= created.body.updated);

    const patched = await api('PATCH', `/v1/customers/${id}`, m.test, {
      email: 'ada@lovelace.io',
      notes: 'Another secret',
      metadata: { internal_id: null, tier: 'gold' },
    });
    assert.equal(patched.status, 200);
    const [updateJob] = (await s.jobs(id)).filter((j) => j.type === 'update_customer');
    await s.drain();
    const update = s.fake.requests[1];
    assert.deepEqual(
      [update?.method, update?.path, update?.authorization, update?.stripeAccount],
      ['POST', `/v1/customers/${stripeCustomer?.id}`, `Bearer ${TEST_KEY}`, m.stripeAccount],
    );
    assert.match(update?.idempotencyKey ?? '', new RegExp(`^lunipay:${id}:update:${updateJob?.id}:v\\d+$`));
    assert.deepEqual(update?.body, {
      email: 'ada@lovelace.io',
      name: 'Ada Lovelace',
      phone: '+15555550100',
      metadata: { internal_id: '', tier: 'gold', lunipay_customer_id: id },
    });
    assert.deepEqual(s.fake.customers(m.stripeAccount)[0]?.metadata, {
      tier: 'gold',
      lunipay_customer_id: id,
    });

    assert.equal((await api('DELETE', `/v1/customers/${id}`, m.test)).status, 200);
    await s.drain();
    const del = s.fake.requests[2];
    assert.deepEqual(
      [del?.method, del?.path, del?.authorization, del?.stripeAccount, del?.idempotencyKey],
      [
        'DELETE',
        `/v1/customers/${stripeCustomer?.id}`,
        `Bearer ${TEST_KEY}`,
        m.stripeAccount,
        `lunipay:${id}:delete`,
      ],
    );
    assert.deepEqual(s.fake.customers(m.stripeAccount), []);
    assert.equal(s.fake.requests.length, 3);

    const sent = JSON.stringify(s.fake.requests.map((r) => r.body));
    assert.ok(!sent.includes('Secret') && !sent.includes('notes') && !sent.includes('description'), sent);
    // Nothing personal is left behind in the outbox either.
    const k = s.h.db.kysely;
    const leftovers = JSON.stringify([
      await k.selectFrom('jobs').selectAll().where('customer_id', '=', id).execute(),
      await k.selectFrom('stripe_customers').selectAll().where('customer_id', '=', id).execute(),
    ]);
    for (const personal of ['ada@', 'Ada', 'Lovelace', '+15555550100', 'Secret', 'secret', 'A-1', 'gold']) {
      assert.ok(!leftovers.includes(personal), `${personal} left in ${leftovers}`);
    }
    assert.deepEqual(
      (await s.jobs(id)).map((j) => [j.type, j.state]),
      [
        ['provision_customer', 'succeeded'],
        ['update_customer', 'succeeded'],
        ['delete_customer', 'succeeded'],
      ],
    );
  });

  test('live-mode customers are made with the live platform key', async () => {
    const m = await s.merchant();
    await api('POST', '/v1/customers', m.live, { email: 'live@example.com' });
    await s.drain();
    assert.equal(s.fake.requests[0]?.authorization, `Bearer ${LIVE_KEY}`);
    assert.equal(s.fake.customers(m.stripeAccount)[0]?.livemode, true);
  });

  test('the Stripe name: first and last joined, either alone, else the company name, else none', async () => {
    const m = await s.merchant();
    const cases = [
      [{ first_name: 'Ada', last_name: 'Lovelace', company_name: 'AE' }, 'Ada Lovelace'],
      [{ first_name: '', last_name: 'Lovelace' }, 'Lovelace'],
      [{ first_name: 'Ada' }, 'Ada'],
      [{ company_name: 'Analytical Engines' }, 'Analytical Engines'],
      [{}, null],
    ] as const;
    for (const [fields] of cases)
      await api('POST', '/v1/customers', m.test, { email: 'n@example.com', ...fields });
    await s.drain();
    const names = s.fake.customers(m.stripeAccount).map((c) => c.name);
    assert.deepEqual(
      names,
      cases.map(([, name]) => name),
    );
  });

  test('changes Stripe does not hold make no job; queued updates are coalesced and follow the create', async () => {
    const m = await s.merchant();
    const { body } = await api('POST', '/v1/customers', m.test, {
      email: 'c@example.com',
      company_name: 'Co',
    });
    const id: string = body.id;
    await api('PATCH', `/v1/customers/${id}`, m.test, { notes: 'internal only' });
    await api('PATCH', `/v1/customers/${id}`, m.test, {});
    await api('PATCH', `/v1/customers/${id}`, m.test, { first_name: 'Cy' });
    await api('PATCH', `/v1/customers/${id}`, m.test, { phone: '+1 555 0001', metadata: { a: '1' } });
    await api('PATCH', `/v1/customers/${id}`, m.test, {
      phone: '+1 555 0002',
      metadata: { a: null, b: '2' },
    });
    assert.deepEqual(
      (await s.jobs(id)).map((j) => j.type),
      ['provision_customer', 'update_customer'],
    );

    s.fake.failNext(3, { status: 503 });
    await s.runUntilIdle();
    const calls = s.fake.requests.map(
      (r) => `${r.method} ${r.path === '/v1/customers' ? 'create' : 'one'} ${r.status}`,
    );
    assert.deepEqual(calls, [
      'POST create 503',
      'POST create 503',
      'POST create 503',
      'POST create 200',
      'POST one 200',
    ]);
    const [customer] = s.fake.customers(m.stripeAccount);
    assert.deepEqual(
      [customer?.name, customer?.phone, customer?.metadata],
      ['Cy', '+1 555 0002', { b: '2', lunipay_customer_id: id }],
    );
  });

  test('a customer deleted before it was provisioned never reaches Stripe', async () => {
    const m = await s.merchant();
    const { body } = await api('POST', '/v1/customers', m.test, { email: 'gone@example.com' });
    await api('PATCH', `/v1/customers/${body.id}`, m.test, { phone: '1' });
    await api('DELETE', `/v1/customers/${body.id}`, m.test);
    await s.drain();
    assert.equal(s.fake.requests.length, 0);
    assert.deepEqual(
      (await s.jobs(body.id)).map((j) => [j.type, j.state]),
      [
        ['provision_customer', 'cancelled'],
        ['update_customer', 'cancelled'],
      ],
    );
  });

  test('recording the Stripe id keeps a change made while the call was in flight', async () => {
    const m = await s.merchant();
    const { body } = await api('POST', '/v1/customers', m.test, { email: 'race@example.com' });
    const gateway = {
      ...s.gateway,
      async createCustomer(...args: Parameters<typeof s.gateway.createCustomer>) {
        const result = await s.gateway.createCustomer(...args);
        await api('PATCH', `/v1/customers/${body.id}`, m.test, { last_name: 'Meanwhile' });
        return result;
      },
    };
    await s.drain(s.deps({ gateway }));
    await s.drain();
    const after = await api('GET', `/v1/customers/${body.id}`, m.test);
    assert.equal(after.body.last_name, 'Meanwhile');
    assert.equal(after.body.stripe_customer_id, s.fake.customers(m.stripeAccount)[0]?.id);
    assert.equal(s.fake.customers(m.stripeAccount)[0]?.name, 'Meanwhile');
  });

  test('a slow Stripe does not slow the API', async () => {
    const m = await s.merchant();
    const worker = s.worker();
    const fast = await timed(() => api('POST', '/v1/customers', m.test, { email: 'quick@example.com' }));
    await s.until(() => s.fake.requests.length === 1 && s.fake.requests[0]?.status === 200);
    s.fake.setDelay(1500);
    const slow = await timed(() => api('POST', '/v1/customers', m.test, { email: 'slow@example.com' }));
    assert.equal(slow.result.status, 200);
    assert.equal(slow.result.body.stripe_customer_id, null);
    // The create answered while Stripe was still working on (or had not yet been asked for) it.
    const call = s.fake.requests[1];
    assert.ok(call === undefined || call.status === null, 'the create waited for Stripe');
    s.h.app.log.info({ fast_ms: fast.ms, slow_stripe_ms: slow.ms }, 'API latency with Stripe fast and slow');
    await s.until(
      async () =>
        (await api('GET', `/v1/customers/${slow.result.body.id}`, m.test)).body.stripe_customer_id !== null,
    );
    await worker.stop();
  });
});

async function timed<T>(fn: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const start = performance.now();
  const result = await fn();
  return { result, ms: performance.now() - start };
}

forEachDatabase('Stripe provisioning switched off', (dialect) => {
  const { s } = useStripeSuite(dialect, { STRIPE_SECRET_KEY: '' });

  test('no job without the mode’s platform key or a connected account; start-up says which mode is off', async () => {
    const m = await s.merchant();
    const live = await s.h.request('POST', '/v1/customers', {
      key: m.live,
      json: { email: 'l@example.com' },
    });
    await s.h.request('PATCH', `/v1/customers/${live.body.id}`, { key: m.live, json: { phone: '1' } });
    await s.h.request('DELETE', `/v1/customers/${live.body.id}`, { key: m.live });
    const plain = await s.h.account('Not connected');
    const test1 = await s.h.request('POST', '/v1/customers', {
      key: plain.test,
      json: { email: 't@example.com' },
    });
    await s.h.request('PATCH', `/v1/customers/${test1.body.id}`, { key: plain.test, json: { phone: '1' } });
    assert.deepEqual(await s.jobs(), []);
    await s.drain();
    assert.equal(s.fake.requests.length, 0);

    const logs = s.h.logs();
    assert.equal(
      logs.split('Stripe provisioning is off for live mode: STRIPE_SECRET_KEY is not set').length,
      2,
    );
    assert.ok(!logs.includes('off for test mode'));
  });
});
