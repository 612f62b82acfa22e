import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forEachDatabase } from './helpers/harness.js';
import { runCli } from './helpers/processes.js';
import { childEnv, useStripeSuite } from './helpers/stripe.js';

forEachDatabase('npm run cli -- stripe', (dialect) => {
  const { s } = useStripeSuite(dialect);

  const cli = (...args: string[]) => runCli(args, childEnv(s));

  test('status shows pending, failed, the oldest pending age and the last errors; retry requeues', async () => {
    const m = await s.merchant();
    const error = { type: 'invalid_request_error', code: 'email_invalid', message: 'Invalid email' };
    s.fake.failNext(1, { status: 400, body: { error } });
    await s.h.request('POST', '/v1/customers', { key: m.test, json: { email: 'bad@example.com' } });
    await s.drain();
    await s.h.request('POST', '/v1/customers', { key: m.test, json: { email: 'waiting@example.com' } });
    const [failed, waiting] = await s.jobs();

    const status = await cli('stripe', 'status', '--json');
    assert.equal(status.code, 0, status.stderr);
    const json = JSON.parse(status.stdout);
    assert.deepEqual([json.pending, json.running, json.failed, json.dead], [1, 0, 1, 0]);
    assert.ok(json.oldest_pending_age_seconds >= 0 && json.oldest_pending_age_seconds < 60);
    assert.equal(json.last_errors.length, 1);
    assert.deepEqual(
      { ...json.last_errors[0], at: undefined },
      {
        id: failed?.id,
        type: 'provision_customer',
        customer: failed?.customer_id,
        state: 'failed',
        attempts: 1,
        error:
          'Stripe customers.create (test mode): HTTP 400 invalid_request_error email_invalid (req_fake000001)',
        at: undefined,
      },
    );
    assert.ok(!status.stdout.includes('bad@example.com'));

    const human = await cli('stripe', 'status');
    assert.match(human.stdout, /pending: 1/);
    assert.match(human.stdout, /failed: 1/);
    assert.match(human.stdout, new RegExp(`${failed?.id}.*provision_customer`));

    const retried = await cli('stripe', 'retry', failed?.id ?? '', '--json');
    assert.equal(retried.code, 0, retried.stderr);
    assert.deepEqual(JSON.parse(retried.stdout), { id: failed?.id, state: 'queued' });
    assert.deepEqual(
      (await s.jobs()).map((j) => [j.id, j.state, j.attempts]),
      [
        [failed?.id, 'queued', 0],
        [waiting?.id, 'queued', 0],
      ],
    );

    await s.runUntilIdle();
    const done = await cli('stripe', 'retry', failed?.id ?? '', '--json');
    assert.equal(done.code, 2);
    assert.match(
      done.stderr,
      /^lunipay: Job job_\w+ has already succeeded; only failed, dead or waiting jobs can be retried\.\n$/,
    );
    const missing = await cli('stripe', 'retry', 'job_nope');
    assert.deepEqual([missing.code, missing.stderr], [2, "lunipay: No such job: 'job_nope'.\n"]);
  });
});
