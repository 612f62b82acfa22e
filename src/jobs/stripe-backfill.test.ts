import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as accounts from '../../src/accounts/accounts.service.js';
import { forEachDatabase } from '../../test/helpers/harness.js';
import { useStripeSuite } from '../../test/helpers/stripe.js';
import { backfill, connectStripeAccount, countUnprovisioned } from './stripe-backfill.js';

const CUSTOMERS = 500;

forEachDatabase('Stripe backfill', (dialect) => {
  const { s } = useStripeSuite(dialect);

  const createMany = async (key: string, n: number, prefix: string) => {
    const ids: string[] = [];
    for (let i = 0; i < n; i += 25) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(25, n - i) }, (_, j) =>
          s.h.request('POST', '/v1/customers', { key, json: { email: `${prefix}${i + j}@example.com` } }),
        ),
      );
      for (const res of batch) {
        assert.equal(res.status, 200, res.raw);
        ids.push(res.body.id);
      }
    }
    return ids;
  };

  test(`connecting an account with ${CUSTOMERS} customers provisions each exactly once; the API is unaffected meanwhile`, async () => {
    const account = await s.h.account('Existing shop');
    const ids = await createMany(account.test, CUSTOMERS, 'old');
    assert.deepEqual(await s.jobs(), [], 'no connected account yet: nothing queued');
    const deps = { db: s.h.db, gateway: s.gateway, pageSize: 64 };
    assert.equal(await countUnprovisioned(s.h.db, s.gateway), 0);

    const worker = s.worker({ concurrency: 4 });
    const connecting = connectStripeAccount(deps, account.id, 'acct_backfill1');
    // The API keeps answering while pages are queued and worked through.
    const during = await createMany(account.test, 20, 'new');
    const page = await s.h.request('GET', '/v1/customers', { key: account.test, query: { limit: 100 } });
    assert.equal(page.status, 200);
    const { queued } = await connecting;
    // Each customer was queued once: by the backfill, or by its own create after the connect.
    assert.ok(queued >= CUSTOMERS && queued <= CUSTOMERS + 20, String(queued));
    await s.until(async () => (await countUnprovisioned(s.h.db, s.gateway)) === 0, 60_000);
    await s.until(async () => (await s.jobs()).every((j) => j.state === 'succeeded'), 60_000);
    await worker.stop();

    const made = s.fake.customers('acct_backfill1');
    assert.equal(made.length, CUSTOMERS + 20);
    assert.deepEqual(new Set(made.map((c) => c.metadata.lunipay_customer_id)), new Set([...ids, ...during]));
    const creates = s.fake.requests.filter((r) => r.method === 'POST' && r.path === '/v1/customers');
    assert.equal(creates.length, CUSTOMERS + 20);
    const linked = await s.h.db.kysely
      .selectFrom('customers')
      .select('id')
      .where('account_id', '=', account.id)
      .where('stripe_customer_id', 'is', null)
      .execute();
    assert.deepEqual(linked, []);

    // A second connect, or a backfill, creates nothing new.
    const requests = s.fake.requests.length;
    assert.equal((await connectStripeAccount(deps, account.id, 'acct_backfill1')).queued, 0);
    assert.deepEqual(await backfill(deps, { accountId: account.id, resume: true }), { queued: 0 });
    assert.deepEqual(await backfill(deps), { queued: 0 });
    assert.equal(s.fake.requests.length, requests);
  });

  test('a start-up backfill provisions the customers still missing, only in modes with a platform key', async () => {
    const account = await s.h.account('Connected without backfill');
    const [test1, test2] = await createMany(account.test, 2, 't');
    await s.h.request('POST', '/v1/customers', { key: account.live, json: { email: 'live@example.com' } });
    // Connected behind the backfill's back (as by an older version of LuniPay).
    await accounts.setStripeAccount(s.h.db, account.id, 'acct_startup1');
    const testOnly = { ...s.gateway, enabled: (mode: 'test' | 'live') => mode === 'test' };
    assert.equal(await countUnprovisioned(s.h.db, testOnly), 2);
    assert.equal(await countUnprovisioned(s.h.db, s.gateway), 3);
    assert.deepEqual(await backfill({ db: s.h.db, gateway: testOnly }), { queued: 2 });
    assert.deepEqual(await backfill({ db: s.h.db, gateway: testOnly }), { queued: 0 });
    await s.runUntilIdle();
    assert.deepEqual(
      s.fake
        .customers('acct_startup1')
        .map((c) => c.metadata.lunipay_customer_id)
        .sort(),
      [test1, test2].sort(),
    );
    assert.equal(await countUnprovisioned(s.h.db, testOnly), 0);
  });
});
