import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forEachDatabase } from '../../test/helpers/harness.js';
import { useStripeSuite } from '../../test/helpers/stripe.js';

/** Which idempotency key each kind of Stripe failure keeps, and what a key given up costs. */
forEachDatabase('Stripe idempotency keys through failures', (dialect) => {
  const { s, m } = useStripeSuite(dialect);

  const create = async (json: Record<string, unknown> = { email: 'jo@example.com' }) =>
    (await s.h.request('POST', '/v1/customers', { key: m.test, json })).body.id as string;
  const customers = () => s.fake.customers(m.stripeAccount);
  const creates = () => s.fake.requests.filter((r) => r.method === 'POST' && r.path === '/v1/customers');
  const lookups = () => s.fake.requests.filter((r) => r.method === 'GET');
  const stripeIdOf = async (id: string) =>
    (await s.h.request('GET', `/v1/customers/${id}`, { key: m.test })).body.stripe_customer_id as
      | string
      | null;

  test('five fresh 500s, then Stripe answers: provisioned at once, under one key, one Stripe customer', async () => {
    s.fake.failNext(5, { status: 500 });
    const id = await create();
    const worker = s.worker();
    let linkedAt = 0;
    await s.until(async () => {
      if ((await stripeIdOf(id)) === null) return false;
      linkedAt = Date.now();
      return true;
    });
    await worker.stop();
    const recoveredAt = s.fake.requests[5]?.at ?? 0;
    assert.deepEqual(
      creates().map((r) => [r.idempotencyKey, r.status, r.replayed]),
      [
        ...Array.from({ length: 5 }, () => [`lunipay:${id}:create`, 500, false]),
        [`lunipay:${id}:create`, 200, false],
      ],
    );
    assert.equal(customers().length, 1);
    assert.equal(lookups().length, 0);
    assert.equal(await stripeIdOf(id), customers()[0]?.id);
    // No wait for a settle: a fresh 500 is retried with backoff only.
    assert.ok(!s.workerLogs.some((l) => l.msg === 'stripe job waiting'));
    s.h.app.log.info(
      { from_stripe_answer_to_linked_ms: linkedAt - recoveredAt },
      'provisioned after five fresh 500s',
    );
  });

  test('timeouts, network errors, 409 and 429 all keep the key', async () => {
    s.fake.failNext(1, 'network');
    s.fake.failNext(1, { status: 409 });
    s.fake.failNext(1, { status: 429 });
    s.fake.failNext(1, { status: 503 });
    const id = await create();
    await s.runUntilIdle();
    assert.deepEqual(new Set(creates().map((r) => r.idempotencyKey)), new Set([`lunipay:${id}:create`]));
    assert.equal(creates().length, 5);
    assert.equal(customers().length, 1);
    assert.equal(lookups().length, 0);
  });

  test('a stored error replayed: looked up, nothing found, re-keyed at once; still one Stripe customer', async () => {
    s.fake.failNext(1, { status: 500, stored: true });
    const id = await create();
    await s.runUntilIdle(s.deps({ settings: { timing: { ...s.deps().settings.timing, settleMs: 60_000 } } }));
    assert.deepEqual(
      s.fake.requests.map((r) => [
        r.method,
        r.idempotencyKey?.replace(`lunipay:${id}:`, ''),
        r.status,
        r.replayed,
      ]),
      [
        ['POST', 'create', 500, false],
        ['POST', 'create', 500, true],
        ['GET', undefined, 200, false],
        ['POST', 'create:1', 200, false],
      ],
    );
    // The look-up asks for the customers made since the key was first used, not the whole account.
    const window = lookups()[0]?.body.created as { gte: string; lte: string };
    assert.ok(Number(window.lte) - Number(window.gte) <= 2 * 60 + 5, JSON.stringify(window));
    // A stored answer is final: nothing to wait for (the settle time here is a minute).
    assert.ok(!s.workerLogs.some((l) => l.msg === 'stripe job waiting'));
    assert.equal(customers().length, 1);
    assert.equal(await stripeIdOf(id), customers()[0]?.id);
  });

  test('a stored error replayed, and the look-up finds what the first call made: linked, no second create', async () => {
    const id = await create();
    // As if Stripe made the customer and then stored an error for the call.
    const made = await s.gateway.createCustomer(
      'test',
      m.stripeAccount,
      { email: 'jo@example.com', name: null, phone: null, metadata: { lunipay_customer_id: id } },
      'made-outside-the-job',
    );
    const before = s.fake.requests.length;
    s.fake.failNext(1, { status: 500, stored: true });
    await s.runUntilIdle();
    const calls = s.fake.requests.slice(before).map((r) => [r.method, r.status, r.replayed]);
    assert.deepEqual(calls, [
      ['POST', 500, false],
      ['POST', 500, true],
      ['GET', 200, false],
    ]);
    assert.equal(customers().length, 1);
    assert.equal(await stripeIdOf(id), made.id);
    const [job] = await s.jobs(id);
    assert.deepEqual([job?.state, job?.note], ['succeeded', 'found the customer an earlier attempt made']);
  });
});
