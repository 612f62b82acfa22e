import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as accounts from '../src/accounts/accounts.service.js';
import { forEachDatabase } from './helpers/harness.js';
import { runCli } from './helpers/processes.js';
import { childEnv, stripeOutside, useStripeSuite } from './helpers/stripe.js';

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

  test('backfill, status counting unprovisioned customers, accounts update queueing, import with --dry-run and --json', async () => {
    const account = await s.h.account('CLI shop');
    for (const email of ['a@example.com', 'b@example.com'])
      await s.h.request('POST', '/v1/customers', { key: account.test, json: { email } });
    await stripeOutside(s, 'POST', '/v1/customers', 'acct_cli1', {
      email: 'from-stripe@example.com',
      name: 'Ada Lovelace',
    });
    await stripeOutside(s, 'POST', '/v1/customers', 'acct_cli1', { name: 'No Email' });

    const connected = await cli('accounts', 'update', account.id, '--stripe-account', 'acct_cli1');
    assert.equal(connected.code, 0, connected.stderr);
    assert.match(connected.stdout, /Queued 2 Stripe job\(s\)/);
    const status = JSON.parse((await cli('stripe', 'status', '--json')).stdout);
    assert.equal(status.unprovisioned, 2);
    assert.match((await cli('stripe', 'status')).stdout, /customers not provisioned yet: 2/);
    // Already queued: a backfill adds nothing.
    assert.deepEqual(JSON.parse((await cli('stripe', 'backfill', '--json')).stdout), { queued: 0 });
    await s.runUntilIdle();
    assert.equal(JSON.parse((await cli('stripe', 'status', '--json')).stdout).unprovisioned, 0);

    const dry = await cli(
      'stripe',
      'import',
      '--account',
      account.id,
      '--mode',
      'test',
      '--dry-run',
      '--json',
    );
    assert.equal(dry.code, 0, dry.stderr);
    const plan = JSON.parse(dry.stdout);
    assert.deepEqual([plan.linked, plan.created, plan.skipped, plan.errors.length], [2, 1, 1, 1]);
    assert.equal((await s.jobs()).filter((j) => j.account_id === account.id).length, 2);
    const run = JSON.parse(
      (await cli('stripe', 'import', '--account', account.id, '--mode', 'test', '--json')).stdout,
    );
    assert.deepEqual(run, plan);
    const human = await cli('stripe', 'import', '--account', account.id, '--mode', 'test');
    assert.match(human.stdout, /^Linked 3, created 0, skipped 1\.\n {2}cus_\w+: it has no email/);

    const other = await s.h.account('Backfilled on demand');
    await s.h.request('POST', '/v1/customers', { key: other.test, json: { email: 'c@example.com' } });
    await accounts.setStripeAccount(s.h.db, other.id, 'acct_cli2');
    assert.deepEqual(JSON.parse((await cli('stripe', 'backfill', '--account', other.id, '--json')).stdout), {
      queued: 1,
    });
    assert.match(
      (await cli('stripe', 'backfill', '--account', other.id)).stdout,
      /^Queued 0 Stripe job\(s\)/,
    );

    const bad = [
      await cli('stripe', 'backfill', '--account', 'acct_nope'),
      await cli('stripe', 'import', '--mode', 'test'),
      await cli('stripe', 'import', '--account', other.id, '--mode', 'sandbox'),
      await cli('stripe', 'import', '--account', 'acct_nope', '--mode', 'test'),
      await cli('stripe', 'backfill', 'extra'),
    ];
    assert.deepEqual(
      bad.map((r) => [r.code, r.stdout]),
      bad.map(() => [2, '']),
    );
    assert.deepEqual(
      bad.map((r) => r.stderr.trim().split('\n').length),
      bad.map(() => 1),
    );
    assert.match(bad[0]?.stderr ?? '', /No such account: 'acct_nope'/);
  });
});
