import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { forEachDatabase } from '../../test/helpers/harness.js';
import { type StripeHarness, startStripeHarness } from '../../test/helpers/stripe.js';

forEachDatabase('events of the Stripe worker', (dialect) => {
  let s: StripeHarness;
  before(async () => {
    s = await startStripeHarness(dialect);
  });
  after(() => s.close());
  beforeEach(() => s.fake.reset());

  const feed = async (key: string) => {
    const res = await s.h.request('GET', '/v1/events', { key, query: { sequence_after: 0 } });
    assert.equal(res.status, 200, res.raw);
    return res.body.data as {
      type: string;
      sequence: number;
      data: { object: Record<string, unknown>; previous_attributes?: unknown };
      request: unknown;
    }[];
  };

  test('recording stripe_customer_id is a customer.updated from stripe_sync, with no request', async () => {
    const m = await s.merchant();
    const created = await s.h.request('POST', '/v1/customers', {
      key: m.test,
      json: { email: 'sync@example.com', notes: 'internal' },
    });
    assert.equal(created.status, 200);
    await s.drain();
    const retrieved = await s.h.request('GET', `/v1/customers/${created.body.id}`, { key: m.test });
    const stripeId = retrieved.body.stripe_customer_id;
    assert.match(stripeId, /^cus_/);

    const events = await feed(m.test);
    assert.deepEqual(
      events.map((e) => [e.sequence, e.type]),
      [
        [1, 'customer.created'],
        [2, 'customer.updated'],
      ],
    );
    const sync = events[1];
    assert.deepEqual(sync?.data, {
      object: retrieved.body,
      previous_attributes: { stripe_customer_id: null },
    });
    assert.deepEqual(sync?.request, { id: null, idempotency_key: null, source: 'stripe_sync' });

    // Running the jobs again changes nothing, so writes no event.
    await s.drain();
    assert.equal((await feed(m.test)).length, 2);
  });

  test('a customer deleted before the worker links it gets no stripe_sync event', async () => {
    const m = await s.merchant();
    const created = await s.h.request('POST', '/v1/customers', {
      key: m.test,
      json: { email: 'gone@example.com' },
    });
    assert.equal(
      (await s.h.request('DELETE', `/v1/customers/${created.body.id}`, { key: m.test })).status,
      200,
    );
    await s.runUntilIdle();
    assert.deepEqual(
      (await feed(m.test)).map((e) => e.type),
      ['customer.created', 'customer.deleted'],
    );
  });
});
