import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forEachDatabase } from '../../test/helpers/harness.js';
import { useStripeSuite } from '../../test/helpers/stripe.js';
import { createStripeGateway } from '../stripe/gateway.js';
import { retryJob, stripeStatus } from './jobs.service.js';
import { queuedJob } from './jobs.store.js';

forEachDatabase('Stripe provisioning failures', (dialect) => {
  const { s, m } = useStripeSuite(dialect);

  const create = async (json: Record<string, unknown> = { email: 'jo@example.com' }) =>
    (await s.h.request('POST', '/v1/customers', { key: m.test, json })).body.id as string;
  const customers = () => s.fake.customers(m.stripeAccount);
  const creates = () => s.fake.requests.filter((r) => r.method === 'POST' && r.path === '/v1/customers');
  const k = () => s.h.db.kysely;

  /** One round of jobs whose failures wait a minute, so a test sees exactly one attempt. */
  const runOnce = () => s.drain(s.deps({ settings: { backoff: { baseMs: 60_000, maxMs: 60_000 } } }));

  test('an outage of many failed calls, then recovery: exactly one Stripe customer', async () => {
    s.fake.failWhile(() => true, { status: 503 });
    const id = await create();
    const worker = s.worker();
    await s.until(() => s.fake.requests.length >= 6);
    s.fake.failWhile(() => true, 'network');
    await s.until(() => s.fake.requests.length >= 10);
    const [waiting] = await s.jobs(id);
    assert.ok(waiting?.state === 'queued' || waiting?.state === 'running');
    assert.match(waiting?.last_error ?? '', /HTTP 503|network error/);
    const status = await stripeStatus(s.h.db, Date.now());
    assert.equal(status.pending, 1);
    assert.equal(status.last_errors[0]?.id, waiting?.id);

    s.fake.clearFaults();
    await s.until(async () => (await s.jobs(id))[0]?.state === 'succeeded');
    await worker.stop();
    assert.equal(customers().length, 1);
    assert.deepEqual(new Set(creates().map((r) => r.idempotencyKey)), new Set([`lunipay:${id}:create`]));
  });

  test('calls that time out while Stripe still carries them out: exactly one Stripe customer', async () => {
    const impatient = createStripeGateway({
      testKey: s.h.config.stripe.testKey,
      apiBase: s.fake.url,
      timeoutMs: 100,
    });
    s.fake.setDelay(250);
    const id = await create();
    const worker = s.worker({}, impatient);
    await s.until(() => creates().length >= 3);
    s.fake.setDelay(0);
    await s.until(async () => (await s.jobs(id))[0]?.state === 'succeeded');
    await worker.stop();
    assert.equal(customers().length, 1);
    assert.ok(((await s.jobs(id))[0]?.attempts ?? 0) >= 3);
  });

  test('a 500 Stripe stored and replays to the same key: each job moves on to a new key', async () => {
    const stored500 = { status: 500, stored: true };
    s.fake.failNext(1, stored500);
    const id = await create();
    await s.runUntilIdle();
    s.fake.failNext(1, stored500);
    await s.h.request('PATCH', `/v1/customers/${id}`, { key: m.test, json: { phone: '+1 555 0100' } });
    await s.runUntilIdle();
    s.fake.failNext(1, stored500);
    await s.h.request('DELETE', `/v1/customers/${id}`, { key: m.test });
    await s.runUntilIdle();

    const [update] = (await s.jobs(id)).filter((j) => j.type === 'update_customer');
    const calls = s.fake.requests.map((r) => [
      r.method,
      r.idempotencyKey?.replace(`lunipay:${id}:`, ''),
      r.status,
      r.replayed,
    ]);
    assert.equal(calls.length, 10);
    // The fresh 500 keeps its key; the replay of it is what retires the key.
    assert.deepEqual(calls.slice(0, 4), [
      ['POST', 'create', 500, false],
      ['POST', 'create', 500, true],
      ['GET', undefined, 200, false], // nothing was made under the first key
      ['POST', 'create:1', 200, false],
    ]);
    assert.match(String(calls[4]?.[1]), new RegExp(`^update:${update?.id}:v\\d+$`));
    assert.equal(calls[5]?.[1], calls[4]?.[1]);
    assert.equal(calls[6]?.[1], `${calls[4]?.[1]}:1`);
    assert.deepEqual(calls.slice(7), [
      ['DELETE', 'delete', 500, false],
      ['DELETE', 'delete', 500, true],
      ['DELETE', 'delete:1', 200, false],
    ]);
    assert.deepEqual(customers(), []);
  });

  test('a customer deleted after failed creates: Stripe is checked, nothing is made or deleted', async () => {
    s.fake.failNext(1, { status: 500 });
    const id = await create();
    await runOnce();
    await s.h.request('DELETE', `/v1/customers/${id}`, { key: m.test });
    // As if the backoff had passed.
    await k().updateTable('jobs').set({ run_at: 0 }).where('customer_id', '=', id).execute();
    await s.runUntilIdle();
    assert.deepEqual(customers(), []);
    assert.deepEqual(
      s.fake.requests.map((r) => `${r.method} ${r.status}`),
      ['POST 500', 'GET 200'],
    );
  });

  test('a 4xx is recorded as failed, holds back the customer’s later jobs, and can be retried', async () => {
    const error = { type: 'invalid_request_error', code: 'email_invalid', message: 'Invalid email' };
    s.fake.failNext(1, { status: 400, body: { error } });
    const id = await create();
    await s.drain();
    await s.h.request('PATCH', `/v1/customers/${id}`, { key: m.test, json: { first_name: 'Jo' } });
    await s.drain();
    const [failed, waiting] = await s.jobs(id);
    assert.equal(failed?.state, 'failed');
    assert.equal(failed?.attempts, 1);
    assert.match(failed?.last_error ?? '', /HTTP 400 invalid_request_error email_invalid/);
    assert.equal(waiting?.state, 'queued');
    assert.equal(s.fake.requests.length, 1);
    const status = await stripeStatus(s.h.db, Date.now());
    assert.deepEqual([status.failed, status.pending, status.last_errors[0]?.id], [1, 1, failed?.id]);

    await retryJob(s.h.db, failed?.id ?? '', Date.now());
    await s.runUntilIdle();
    assert.equal(customers().length, 1);
    assert.equal(customers()[0]?.name, 'Jo');
  });

  test('stripe status counts Stripe jobs only: a failed mail or delivery is not in it', async () => {
    const before = await stripeStatus(s.h.db, Date.now());
    const failed = (id: string, type: string, endpoint: string | null) => ({
      ...queuedJob(
        {
          id,
          type,
          customer_id: 'cus_other',
          account_id: 'acct_other',
          mode: 'test' as const,
          payload: '{}',
          ordering_key: id,
          event_id: null,
          endpoint_id: endpoint,
        },
        Date.now(),
      ),
      state: 'failed' as const,
      last_error: 'refused',
      last_error_at: Date.now(),
    });
    await k()
      .insertInto('jobs')
      .values([failed('job_mail', 'mail.send', null), failed('job_hook', 'webhook_delivery', 'we_1')])
      .execute();
    const after = await stripeStatus(s.h.db, Date.now());
    assert.deepEqual(
      [after.failed, after.pending, after.last_errors.map((e) => e.id)],
      [before.failed, before.pending, before.last_errors.map((e) => e.id)],
    );
  });

  test('deleting a customer whose create failed re-arms the create to check Stripe, then deletes nothing', async () => {
    s.fake.failNext(1, { status: 402 });
    const id = await create();
    await s.drain();
    assert.equal((await s.jobs(id))[0]?.state, 'failed');
    await s.h.request('DELETE', `/v1/customers/${id}`, { key: m.test });
    assert.deepEqual(
      (await s.jobs(id)).map((j) => [j.type, j.state]),
      [
        ['provision_customer', 'queued'],
        ['delete_customer', 'queued'],
      ],
    );
    await s.runUntilIdle();
    assert.deepEqual(
      s.fake.requests.map((r) => `${r.method} ${r.status}`),
      ['POST 402', 'GET 200'],
    );
    assert.deepEqual(
      (await s.jobs(id)).map((j) => j.state),
      ['succeeded', 'succeeded'],
    );
  });

  test('retryable errors for too long make a job dead; retrying it later succeeds', async () => {
    s.fake.failWhile(() => true, { status: 429 });
    const id = await create();
    await s.runUntilIdle(s.deps({ settings: { maxAttempts: 3 } }));
    const [dead] = await s.jobs(id);
    assert.deepEqual([dead?.state, dead?.attempts], ['dead', 3]);
    assert.equal((await stripeStatus(s.h.db, Date.now())).dead, 1);
    s.fake.clearFaults();
    await retryJob(s.h.db, dead?.id ?? '', Date.now());
    await s.runUntilIdle();
    assert.equal(customers().length, 1);
  });
});
