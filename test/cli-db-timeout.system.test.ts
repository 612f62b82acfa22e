import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as accounts from '../src/accounts/accounts.service.js';
import { type FakeStripe, startFakeStripe } from './fake-stripe/server.js';
import { type FreshDatabase, freshDatabase } from './helpers/harness.js';
import { spawnEntry } from './helpers/processes.js';
import { waitFor } from './helpers/receiver.js';
import { TEST_KEY } from './helpers/stripe.js';
import { startPostgresProxy, type TcpProxy, throughProxy } from './helpers/tcp-proxy.js';

/**
 * The command line honours LUNIPAY_DB_QUERY_TIMEOUT_MS too (worker-db-timeout.system.test.ts
 * checks the worker). `stripe import` holds a connection it has used while it waits for a slow
 * Stripe page; the partition comes then, so its next query goes out on that connection and,
 * without the timeout, would wait as long as the network does.
 */

const PG_URL = process.env.LUNIPAY_TEST_DATABASE_URL;
const QUERY_TIMEOUT_MS = 500;
const STRIPE_DELAY_MS = 1500;

describe('the command line on a partitioned PostgreSQL', {
  skip: PG_URL ? false : 'LUNIPAY_TEST_DATABASE_URL is not set',
}, () => {
  let fresh: FreshDatabase;
  let proxy: TcpProxy;
  let fake: FakeStripe;
  before(async () => {
    fresh = await freshDatabase('postgres');
    proxy = await startPostgresProxy(PG_URL as string);
    fake = await startFakeStripe();
  });
  after(async () => {
    await proxy?.close();
    await fake?.close();
    await fresh?.drop();
  });

  test('its query fails after the query timeout and it exits with the error, instead of hanging', async () => {
    const { account } = await accounts.createAccount(fresh.db, {
      name: 'Shop',
      stripeAccountId: 'acct_partition1',
    });
    await fetch(`${fake.url}/v1/customers`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${TEST_KEY}`,
        'stripe-account': 'acct_partition1',
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'email=p%40example.com',
    });
    fake.setDelay(STRIPE_DELAY_MS);
    const cli = spawnEntry('cli', ['stripe', 'import', '--account', account.id, '--mode', 'test', '--json'], {
      LUNIPAY_DATABASE_URL: throughProxy(fresh.url, proxy),
      LUNIPAY_DB_QUERY_TIMEOUT_MS: String(QUERY_TIMEOUT_MS),
      STRIPE_TEST_SECRET_KEY: TEST_KEY,
      STRIPE_API_BASE: fake.url,
    });
    try {
      await waitFor(
        () => fake.requests.length === 2,
        20_000,
        () => `the import's list request: ${cli.stderr()}`,
      );
      proxy.partition();
      const exit = await Promise.race([
        cli.exited,
        new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 15_000)),
      ]);
      assert.notEqual(exit, 'still running', 'the command line hung on the partitioned database');
      assert.equal(exit === 'still running' ? null : exit.code, 1);
      assert.match(cli.stderr(), /^lunipay: Query read timeout\n$/);
      assert.equal(cli.stdout(), '');
    } finally {
      cli.child.kill('SIGKILL');
      await proxy.restore();
    }
  });
});
