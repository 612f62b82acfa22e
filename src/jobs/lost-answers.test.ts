import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forEachDatabase } from '../../test/helpers/harness.js';
import { FAST, useStripeSuite } from '../../test/helpers/stripe.js';
import type { StripeGateway } from '../stripe/gateway.js';
import { runNext } from './jobs.service.js';

/**
 * A worker that dies right after Stripe answered a create, before it could record anything:
 * its attempt never ends (until `release`, which plays the zombie waking up too late).
 */
function dyingAfterCreate(real: StripeGateway): { gateway: StripeGateway; release(): void } {
  let release = () => {};
  const never = new Promise<never>((_, reject) => {
    release = () => reject(new Error('the process was killed'));
  });
  never.catch(() => {});
  return {
    gateway: {
      ...real,
      async createCustomer(...args) {
        await real.createCustomer(...args);
        return never;
      },
    },
    release,
  };
}

forEachDatabase('Stripe answers that were lost', (dialect) => {
  const { s, m } = useStripeSuite(dialect);

  const create = async (json: Record<string, unknown> = { email: 'jo@example.com' }) =>
    (await s.h.request('POST', '/v1/customers', { key: m.test, json })).body.id as string;
  const customers = () => s.fake.customers(m.stripeAccount);
  const creates = () => s.fake.requests.filter((r) => r.method === 'POST' && r.path === '/v1/customers');
  const lookups = () => s.fake.requests.filter((r) => r.method === 'GET');
  const k = () => s.h.db.kysely;

  /** One round of jobs whose failures wait a minute, so a test sees exactly one attempt. */
  const runOnce = () => s.drain(s.deps({ settings: { backoff: { baseMs: 60_000, maxMs: 60_000 } } }));

  /** Starts a create that reaches Stripe and is never recorded; returns once Stripe made it. */
  async function lostCreate(id?: string) {
    const dying = dyingAfterCreate(s.gateway);
    const attempt = runNext(s.deps({ gateway: dying.gateway, settings: { leaseMs: 150 } }));
    await s.until(() => customers().length === 1);
    return {
      id,
      async release() {
        dying.release();
        await attempt;
      },
    };
  }

  test('a worker killed after Stripe answered, before recording: the next attempt gets the same customer', async () => {
    const id = await create();
    const lost = await lostCreate(id);
    await s.runUntilIdle();
    await lost.release();
    assert.equal(customers().length, 1);
    assert.deepEqual(
      creates().map((r) => [r.idempotencyKey, r.status]),
      [
        [`lunipay:${id}:create`, 200],
        [`lunipay:${id}:create`, 200],
      ],
    );
    const [job] = await s.jobs(id);
    assert.deepEqual([job?.state, job?.attempts], ['succeeded', 2]);
    const customer = await s.h.request('GET', `/v1/customers/${id}`, { key: m.test });
    assert.equal(customer.body.stripe_customer_id, customers()[0]?.id);
    // The dead worker's late result is refused: the attempt that replaced it stands.
    assert.ok(s.workerLogs.some((l) => l.msg === 'stripe job lease lost; result of this attempt discarded'));
  });

  test('a create retried after Stripe forgot its key finds the customer the lost attempt made', async () => {
    const id = await create();
    const lost = await lostCreate(id);
    // As if the lost attempt was a day ago: Stripe no longer replays its key.
    s.fake.forgetIdempotencyKeys();
    await k()
      .updateTable('jobs')
      .set({ first_attempt_at: Date.now() - 25 * 3600_000 })
      .where('customer_id', '=', id)
      .execute();
    await s.runUntilIdle();
    await lost.release();
    assert.equal(customers().length, 1);
    assert.equal(creates().length, 1);
    assert.equal(lookups().length, 1);
    assert.equal(lookups()[0]?.stripeAccount, m.stripeAccount);
    const customer = await s.h.request('GET', `/v1/customers/${id}`, { key: m.test });
    assert.equal(customer.body.stripe_customer_id, customers()[0]?.id);
  });

  test('a create retried a day after attempts that made nothing uses a fresh key, once', async () => {
    s.fake.failNext(1, { status: 503 });
    const id = await create();
    await runOnce();
    await k()
      .updateTable('jobs')
      .set({ first_attempt_at: Date.now() - 25 * 3600_000, run_at: 0 })
      .where('customer_id', '=', id)
      .execute();
    await s.runUntilIdle(s.deps({ settings: { timing: { ...FAST.timing, settleMs: 300 } } }));
    assert.equal(customers().length, 1);
    // It first waited for the failed attempt to settle, which did not count as an attempt.
    assert.ok(s.workerLogs.some((l) => l.msg === 'stripe job waiting' && l.customer === id));
    assert.equal((await s.jobs(id))[0]?.attempts, 2);
    assert.deepEqual(
      creates().map((r) => [r.idempotencyKey, r.status]),
      [
        [`lunipay:${id}:create`, 503],
        [`lunipay:${id}:create:1`, 200],
      ],
    );
    assert.equal(lookups().length, 1);
  });

  test('a customer changed between a lost create and its retry: the made customer is found, then updated', async () => {
    const id = await create({ email: 'before@example.com' });
    const lost = await lostCreate(id);
    await s.h.request('PATCH', `/v1/customers/${id}`, { key: m.test, json: { email: 'after@example.com' } });
    await s.runUntilIdle();
    await lost.release();
    assert.equal(customers().length, 1);
    assert.equal(customers()[0]?.email, 'after@example.com');
    // Stripe refused the key with other fields, which proved the lost attempt went through.
    assert.equal(creates()[1]?.status, 400);
    assert.equal(lookups().length, 1);
  });

  test('a customer deleted while its create was unresolved leaves no Stripe customer', async () => {
    const id = await create();
    const lost = await lostCreate(id);
    assert.equal((await s.h.request('DELETE', `/v1/customers/${id}`, { key: m.test })).status, 200);
    await s.runUntilIdle();
    await lost.release();
    assert.deepEqual(customers(), []);
    assert.deepEqual(
      (await s.jobs(id)).map((j) => [j.type, j.state]),
      [
        ['provision_customer', 'succeeded'],
        ['delete_customer', 'succeeded'],
      ],
    );
    assert.equal(s.fake.requests.at(-1)?.method, 'DELETE');
  });
});
