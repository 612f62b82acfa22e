import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as accounts from '../src/accounts/accounts.service.js';
import { dialects, forEachDatabase } from './helpers/harness.js';
import { spawnEntry } from './helpers/processes.js';
import { childEnv, useStripeSuite } from './helpers/stripe.js';

forEachDatabase('npm run worker', (dialect) => {
  const { s } = useStripeSuite(dialect);

  const create = async (key: string) =>
    (await s.h.request('POST', '/v1/customers', { key, json: { email: 'p@example.com' } })).body.id as string;

  test('SIGTERM lets the running job finish and record, then exits 0', async () => {
    const m = await s.merchant();
    s.fake.setDelay(800);
    const worker = spawnEntry('worker', [], childEnv(s));
    const id = await create(m.test);
    await s.until(() => s.fake.requests.length === 1, 20_000);
    assert.equal((await worker.kill('SIGTERM')).code, 0, worker.stderr());
    assert.equal((await s.jobs(id))[0]?.state, 'succeeded');
    const customer = await s.h.request('GET', `/v1/customers/${id}`, { key: m.test });
    assert.equal(customer.body.stripe_customer_id, s.fake.customers(m.stripeAccount)[0]?.id);
    assert.match(worker.stdout(), /shutting down: finishing running jobs/);
    assert.match(worker.stdout(), /Stripe provisioning is off|stripe worker started/);
  });

  test('a worker killed (SIGKILL) while Stripe makes the customer: taken over after its lease, still one customer', async () => {
    const m = await s.merchant();
    s.fake.setDelay(500);
    const worker = spawnEntry('worker', [], childEnv(s));
    const id = await create(m.test);
    await s.until(() => s.fake.requests.length === 1, 20_000);
    assert.deepEqual(await worker.kill('SIGKILL'), { code: null, signal: 'SIGKILL' });
    // Stripe carries the request out though nobody is left to hear the answer.
    await s.until(() => s.fake.requests[0]?.status === 200);
    assert.equal((await s.jobs(id))[0]?.state, 'running');
    s.fake.setDelay(0);
    // As if the five-minute lease had run out: this worker's clock is six minutes ahead.
    await s.runUntilIdle(s.deps({ now: () => Date.now() + 6 * 60_000 }));
    assert.equal(s.fake.customers(m.stripeAccount).length, 1);
    assert.deepEqual(
      s.fake.requests.map((r) => r.idempotencyKey),
      [`lunipay:${id}:create`, `lunipay:${id}:create`],
    );
  });

  test('a worker that starts with a platform key provisions the customers of connected accounts still missing', async () => {
    const account = await s.h.account('Connected behind its back');
    const id = await create(account.test);
    const live = await create(account.live);
    // Connected without the backfill that `accounts update` runs: only a start-up finds them.
    await accounts.setStripeAccount(s.h.db, account.id, 'acct_atstart1');
    const worker = spawnEntry('worker', [], { ...childEnv(s), STRIPE_SECRET_KEY: '' });
    try {
      await s.until(() => s.fake.customers('acct_atstart1').length === 1, 20_000);
      assert.equal(s.fake.customers('acct_atstart1')[0]?.metadata.lunipay_customer_id, id);
      await s.until(async () => (await s.jobs(id))[0]?.state === 'succeeded', 20_000);
      // Live mode has no platform key in that process: its customer is left for one that has.
      assert.deepEqual(await s.jobs(live), []);
      assert.match(worker.stdout(), /Stripe backfill queued customers not yet provisioned/);
    } finally {
      assert.equal((await worker.kill('SIGTERM')).code, 0, worker.stderr());
    }
  });
});

if (dialects().includes('postgres')) {
  describe('two worker processes on one PostgreSQL database', () => {
    const { s } = useStripeSuite('postgres');

    test('no job runs twice, and each customer’s jobs keep their order', async () => {
      const m = await s.merchant();
      s.fake.setDelay(100);
      const workers = [0, 1].map(() => spawnEntry('worker', [], childEnv(s)));
      await s.until(() => workers.every((w) => w.stdout().includes('stripe worker started')), 20_000);
      const ids: string[] = [];
      for (let i = 0; i < 30; i++) {
        const { body } = await s.h.request('POST', '/v1/customers', {
          key: m.test,
          json: { email: 'q@example.com' },
        });
        const id: string = body.id;
        await s.h.request('PATCH', `/v1/customers/${id}`, { key: m.test, json: { phone: `+1 555 ${i}` } });
        ids.push(id);
      }
      await s.until(async () => (await s.jobs()).every((j) => j.state === 'succeeded'), 30_000);
      const exits = await Promise.all(workers.map((w) => w.kill('SIGTERM')));
      assert.deepEqual(
        exits.map((e) => e.code),
        [0, 0],
      );

      const jobs = await s.jobs();
      assert.equal(jobs.length, 60);
      assert.ok(jobs.every((j) => j.attempts === 1));
      const keys = s.fake.requests.map((r) => r.idempotencyKey);
      assert.equal(new Set(keys).size, 60, 'a job reached Stripe twice');
      for (const id of ids) {
        const create = keys.indexOf(`lunipay:${id}:create`);
        const update = keys.findIndex((k) => k?.startsWith(`lunipay:${id}:update:`));
        assert.ok(create >= 0 && update > create, `${id}: update before create`);
      }
      assert.equal(s.fake.customers(m.stripeAccount).length, 30);
      const ran = workers.map((w) => w.stdout().split('stripe job succeeded').length - 1);
      assert.ok(
        ran.every((n) => n > 0),
        `both workers should have run jobs: ${ran}`,
      );
    });
  });
}
