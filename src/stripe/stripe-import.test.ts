import assert from 'node:assert/strict';
import { test } from 'node:test';
import Stripe from 'stripe';
import * as accounts from '../../src/accounts/accounts.service.js';
import { forEachDatabase } from '../../test/helpers/harness.js';
import { stripeOutside, useStripeSuite } from '../../test/helpers/stripe.js';
import { backfill } from '../jobs/stripe-backfill.js';
import { createStripeReader } from './reader.js';
import { importFromStripe } from './stripe-import.js';

const FAST_429 = { baseMs: 5, maxMs: 20, retries: 5 };

forEachDatabase('stripe import', (dialect) => {
  const { s } = useStripeSuite(dialect);

  /**
   * A connected account with 250 Stripe customers: 20 that name a LuniPay customer of the
   * account, 10 without an email, one with 25 metadata keys (and a `lunipay_` one), names of
   * one and of three words, one whose phone LuniPay refuses, one naming another account's
   * customer, and 215 ordinary ones.
   */
  async function seed() {
    const account = await s.h.account('Importing shop');
    const existing: string[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await s.h.request('POST', '/v1/customers', {
        key: account.test,
        json: { email: `known${i}@example.com` },
      });
      existing.push(res.body.id);
    }
    const other = await s.h.account('Someone else');
    const foreign = (
      await s.h.request('POST', '/v1/customers', { key: other.test, json: { email: 'f@example.com' } })
    ).body.id as string;
    const stripeAccount = 'acct_import1';
    await accounts.setStripeAccount(s.h.db, account.id, stripeAccount);
    const add = (params: Record<string, unknown>) =>
      stripeOutside(s, 'POST', '/v1/customers', stripeAccount, params);
    const made: Record<string, string> = {};
    for (const [i, id] of existing.entries())
      await add({ email: `known${i}@stripe.example`, metadata: { lunipay_customer_id: id } });
    for (let i = 0; i < 10; i++) await add({ name: `No Email ${i}` });
    const many = Object.fromEntries(
      Array.from({ length: 25 }, (_, i) => [`k${String(i).padStart(2, '0')}`, `v${i}`]),
    );
    made.many = (await add({ email: 'many@example.com', metadata: { ...many, lunipay_note: 'x' } }))
      .id as string;
    made.one = (await add({ email: 'cher@example.com', name: 'Cher', phone: '+1 555 0101' })).id as string;
    made.three = (await add({ email: 'ada@example.com', name: 'Ada King Lovelace', description: 'VIP' }))
      .id as string;
    made.badPhone = (await add({ email: 'p@example.com', phone: '1'.repeat(65) })).id as string;
    made.foreign = (await add({ email: 'foreign@example.com', metadata: { lunipay_customer_id: foreign } }))
      .id as string;
    for (let i = 0; i < 215; i++) await add({ email: `plain${i}@example.com`, name: `Plain ${i}` });
    assert.equal(s.fake.customers(stripeAccount).length, 250);
    return { account, existing, stripeAccount, made };
  }

  const customersOf = (accountId: string) =>
    s.h.db.kysely
      .selectFrom('customers')
      .selectAll()
      .where('account_id', '=', accountId)
      .orderBy('id')
      .execute();

  test('250 Stripe customers: linked, created or skipped by the documented mapping; pushed back; a second run changes nothing', async () => {
    const { account, existing, stripeAccount, made } = await seed();
    const reader = createStripeReader({
      testKey: s.h.config.stripe.testKey,
      apiBase: s.fake.url,
      backoff: FAST_429,
    });
    const deps = { db: s.h.db, gateway: s.gateway, reader };
    const requestsBefore = s.fake.requests.length;

    const dry = await importFromStripe(deps, account.id, 'test', { dryRun: true });
    assert.deepEqual([dry.linked, dry.created, dry.skipped], [20, 219, 11]);
    assert.equal((await customersOf(account.id)).length, 20);
    assert.deepEqual(
      (await s.jobs()).filter((j) => j.account_id === account.id && j.type !== 'provision_customer'),
      [],
    );

    // Stripe rate-limits the listing twice on the way: the import waits and goes on.
    s.fake.failNext(2, { status: 429 });
    const summary = await importFromStripe(deps, account.id, 'test', { dryRun: false });
    assert.deepEqual([summary.linked, summary.created, summary.skipped], [20, 219, 11]);
    assert.deepEqual(summary, { ...dry });
    const skipped = summary.errors.filter((e) => e.skipped);
    assert.equal(skipped.length, 11);
    assert.equal(skipped.filter((e) => /no email/.test(e.message)).length, 10);
    assert.match(
      skipped.find((e) => e.stripe_customer_id === made.badPhone)?.message ?? '',
      /its phone is not/,
    );
    assert.deepEqual(
      summary.errors.filter((e) => !e.skipped),
      [
        {
          stripe_customer_id: made.many,
          skipped: false,
          message: 'imported with the first 20 metadata keys by name; 5 more left out',
        },
      ],
    );
    assert.ok(!JSON.stringify(summary).includes('@'), 'no personal data in the summary');

    const rows = await customersOf(account.id);
    assert.equal(rows.length, 239);
    const byStripe = new Map<string | null | undefined, (typeof rows)[number]>(
      rows.map((r) => [r.stripe_customer_id, r]),
    );
    for (const id of existing) assert.ok(rows.find((r) => r.id === id)?.stripe_customer_id);
    const three = byStripe.get(made.three);
    assert.deepEqual(
      [three?.email, three?.first_name, three?.last_name, three?.notes, three?.phone],
      ['ada@example.com', 'Ada King', 'Lovelace', 'VIP', null],
    );
    const one = byStripe.get(made.one);
    assert.deepEqual([one?.first_name, one?.last_name, one?.phone], ['Cher', '', '+1 555 0101']);
    assert.deepEqual(
      Object.keys(JSON.parse(byStripe.get(made.many)?.metadata ?? '{}')),
      Array.from({ length: 20 }, (_, i) => `k${String(i).padStart(2, '0')}`),
    );
    assert.ok(byStripe.get(made.foreign), "a customer naming another account's customer is created");

    // The events say where the customers came from.
    const events = await s.h.db.kysely
      .selectFrom('events')
      .selectAll()
      .where('account_id', '=', account.id)
      .where('source', '=', 'import')
      .execute();
    assert.equal(events.length, 219 + 20);

    // The worker pushes lunipay_customer_id back; no create ever reaches Stripe.
    await s.runUntilIdle(undefined, 60_000);
    const creates = s.fake.requests
      .slice(requestsBefore)
      .filter((r) => r.method === 'POST' && r.path === '/v1/customers');
    assert.deepEqual(creates, []);
    for (const c of s.fake.customers(stripeAccount)) {
      if (!c.email) continue;
      if (c.id === made.badPhone) assert.equal(c.metadata.lunipay_customer_id, undefined);
      else assert.equal(c.metadata.lunipay_customer_id, byStripe.get(c.id)?.id, c.id);
    }
    // The merchant's keys past the first 20, and lunipay_ ones, are left as they were in Stripe.
    const many = s.fake.customers(stripeAccount).find((c) => c.id === made.many);
    assert.equal(Object.keys(many?.metadata ?? {}).length, 27);

    const again = await importFromStripe(deps, account.id, 'test', { dryRun: false });
    assert.deepEqual([again.linked, again.created, again.skipped], [239, 0, 11]);
    assert.equal((await customersOf(account.id)).length, 239);
  });

  test('Stripe rate-limiting without end: the import gives up with Stripe’s error after its retries', async () => {
    const account = await s.h.account('Rate-limited shop');
    await accounts.setStripeAccount(s.h.db, account.id, 'acct_ratelimited1');
    await stripeOutside(s, 'POST', '/v1/customers', 'acct_ratelimited1', { email: 'r@example.com' });
    const waits: number[] = [];
    const reader = createStripeReader({
      testKey: s.h.config.stripe.testKey,
      apiBase: s.fake.url,
      backoff: { baseMs: 5, maxMs: 10, retries: 3 },
      onRateLimited: (ms) => waits.push(ms),
    });
    s.fake.failWhile(() => true, { status: 429 });
    await assert.rejects(
      importFromStripe({ db: s.h.db, gateway: s.gateway, reader }, account.id, 'test', { dryRun: false }),
      (error: Error) => error instanceof Stripe.errors.StripeRateLimitError,
    );
    s.fake.clearFaults();
    assert.equal(waits.length, 3);
    assert.equal(s.fake.requests.filter((r) => r.method === 'GET').length, 4);
    assert.equal((await customersOf(account.id)).length, 0);
  });

  test('a Stripe customer naming a customer whose own provisioning was tried and is not done: skipped, then linked', async () => {
    const account = await s.h.account('Provisioning under way');
    const id = (
      await s.h.request('POST', '/v1/customers', { key: account.test, json: { email: 'u@example.com' } })
    ).body.id as string;
    await accounts.setStripeAccount(s.h.db, account.id, 'acct_underway1');
    // A worker's create went through under the job's key, and its answer was lost.
    const made = await s.gateway.createCustomer(
      'test',
      'acct_underway1',
      { email: 'u@example.com', name: null, phone: null, metadata: { lunipay_customer_id: id } },
      `lunipay:${id}:create`,
    );
    // Its job has been tried, and will be again.
    const { queued } = await backfill({ db: s.h.db, gateway: s.gateway }, { accountId: account.id });
    assert.equal(queued, 1);
    await s.h.db.kysely
      .updateTable('jobs')
      .set({ attempted_at: Date.now(), attempts: 1 })
      .where('customer_id', '=', id)
      .execute();
    const reader = createStripeReader({ testKey: s.h.config.stripe.testKey, apiBase: s.fake.url });
    const deps = { db: s.h.db, gateway: s.gateway, reader };
    const first = await importFromStripe(deps, account.id, 'test', { dryRun: false });
    assert.deepEqual([first.linked, first.created, first.skipped], [0, 0, 1]);
    assert.match(first.errors[0]?.message ?? '', new RegExp(`${id} is being provisioned`));
    // The job's retry gets Stripe's stored answer, the same customer; the next import finds it linked.
    await s.runUntilIdle();
    assert.equal(
      (await s.h.request('GET', `/v1/customers/${id}`, { key: account.test })).body.stripe_customer_id,
      made.id,
    );
    const second = await importFromStripe(deps, account.id, 'test', { dryRun: false });
    assert.deepEqual([second.linked, second.created, second.skipped], [1, 0, 0]);
  });

  test('an account without a connected account, or a mode without a platform key, is refused', async () => {
    const plain = await s.h.account('Not connected');
    const reader = createStripeReader({ testKey: s.h.config.stripe.testKey, apiBase: s.fake.url });
    const deps = { db: s.h.db, gateway: s.gateway, reader };
    await assert.rejects(
      importFromStripe(deps, plain.id, 'test', { dryRun: false }),
      /has no connected Stripe account/,
    );
    await accounts.setStripeAccount(s.h.db, plain.id, 'acct_nolive1');
    await assert.rejects(
      importFromStripe(deps, plain.id, 'live', { dryRun: false }),
      /No live-mode platform Stripe key/,
    );
    await assert.rejects(
      importFromStripe(deps, 'acct_missing', 'test', { dryRun: false }),
      /No such account/,
    );
  });
});
