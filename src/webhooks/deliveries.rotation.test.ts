import assert from 'node:assert/strict';
import { after, beforeEach, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { forEachDatabase, type Harness, useHarness } from '../../test/helpers/harness.js';
import { type Received, type Receiver, startReceiver, waitFor } from '../../test/helpers/receiver.js';
import type { DeliveryContext } from '../jobs/job.js';
import { startWorker, type Worker } from '../jobs/worker.js';
import { jsonLogger } from '../log.js';
import { createStripeGateway } from '../stripe/gateway.js';
import { deliveryContext } from './deliver-event.job.js';
import { writeEventAndDeliveries } from './deliveries.enqueue.js';

/**
 * What deliveries promise around their edges: both secrets sign during a rotation and only the
 * new one after it, an internal address is refused at delivery even when the stored URL names
 * one, and five days of nothing but failures disable an endpoint. A worker in this process
 * delivers to a real receiver on 127.0.0.1.
 */

const ENV = {
  LUNIPAY_WEBHOOK_ALLOW_PRIVATE: 'true',
  LUNIPAY_WEBHOOK_RETRY_SCHEDULE: '100,100,200',
  LUNIPAY_WEBHOOK_TIMEOUT_MS: '1000',
};
const DAY = 86_400_000;
const stripe = new Stripe('sk_test_unused');

function worker(h: Harness, deliveries: DeliveryContext, now?: () => number): Worker {
  return startWorker({
    db: h.db,
    gateway: createStripeGateway(h.config.stripe),
    log: jsonLogger('silent'),
    eventHook: writeEventAndDeliveries,
    deliveries,
    now,
    // One delivery at a time, so which of two due deliveries fails first is not a race.
    settings: { pollMs: 10, concurrency: 1, webhookConcurrency: 1 },
  });
}

/** Each suite: a database of its own, a receiver, and helpers over the API. */
function useSuite(dialect: Parameters<typeof useHarness>[0]) {
  const { h, acct } = useHarness(dialect, ENV);
  const s = { h, acct, rx: undefined as unknown as Receiver };
  beforeEach(async () => {
    await s.rx?.close();
    s.rx = await startReceiver();
  });
  after(() => s.rx?.close());
  const api = {
    async endpoint(url = s.rx.url) {
      const res = await h.request('POST', '/v1/webhook_endpoints', {
        key: acct.test,
        json: { url, enabled_events: ['customer.created'] },
      });
      assert.equal(res.status, 200, res.raw);
      return res.body as { id: string; secret: string; status: string };
    },
    async customer(email: string) {
      const res = await h.request('POST', '/v1/customers', { key: acct.test, json: { email } });
      assert.equal(res.status, 200, res.raw);
      return res.body.id as string;
    },
    status: async (we: string) =>
      (await h.request('GET', `/v1/webhook_endpoints/${we}`, { key: acct.test })).body.status as string,
    attempts: (we: string) =>
      h.db.kysely
        .selectFrom('webhook_attempts')
        .selectAll()
        .where('endpoint_id', '=', we)
        .orderBy('id')
        .execute(),
    jobs: (we: string) =>
      h.db.kysely.selectFrom('jobs').selectAll().where('endpoint_id', '=', we).orderBy('seq').execute(),
  };
  return { s, api };
}

/** Whether each library accepts the request with this secret. */
function verifies(secret: string, r: Received): { stripe: boolean; standard: boolean } {
  const attempt = (f: () => unknown) => {
    try {
      f();
      return true;
    } catch {
      return false;
    }
  };
  return {
    stripe: attempt(() =>
      stripe.webhooks.constructEvent(r.body, r.headers['stripe-signature'] as string, secret),
    ),
    standard: attempt(() =>
      new Webhook(secret).verify(r.body, {
        'webhook-id': r.headers['webhook-id'] as string,
        'webhook-timestamp': r.headers['webhook-timestamp'] as string,
        'webhook-signature': r.headers['webhook-signature'] as string,
      }),
    ),
  };
}

const customerOf = (r: Received) => JSON.parse(r.body).data.object.id as string;

forEachDatabase('webhook deliveries: secret rotation and blocked addresses', (dialect) => {
  const { s, api } = useSuite(dialect);
  let w: Worker | undefined;
  after(() => w?.stop());

  test('during a rotation both secrets verify with both libraries; after it only the new one', async () => {
    w = worker(s.h, deliveryContext(s.h.config.webhooks, s.h.secretBox));
    const we = await api.endpoint();
    const rolled = await s.h.request('POST', `/v1/webhook_endpoints/${we.id}/roll_secret`, {
      key: s.acct.test,
      json: { expires_in: 2 },
    });
    assert.equal(rolled.status, 200, rolled.raw);
    const expiresAt = Date.now() + 2000;
    const old = we.secret;
    const fresh = rolled.body.secret as string;
    assert.notEqual(old, fresh);

    const during = await api.customer('during@example.com');
    await waitFor(() => s.rx.received.some((r) => customerOf(r) === during));
    const first = s.rx.received.find((r) => customerOf(r) === during) as Received;
    assert.equal((first.headers['stripe-signature'] as string).match(/v1=/g)?.length, 2);
    assert.equal((first.headers['webhook-signature'] as string).split(' ').length, 2);
    assert.deepEqual(verifies(old, first), { stripe: true, standard: true });
    assert.deepEqual(verifies(fresh, first), { stripe: true, standard: true });

    // Past the old secret's expiry by more than a second, whatever the clocks' rounding.
    await new Promise((r) => setTimeout(r, Math.max(0, expiresAt - Date.now()) + 1100));
    const later = await api.customer('after@example.com');
    await waitFor(() => s.rx.received.some((r) => customerOf(r) === later));
    const second = s.rx.received.find((r) => customerOf(r) === later) as Received;
    assert.equal((second.headers['stripe-signature'] as string).match(/v1=/g)?.length, 1);
    assert.equal((second.headers['webhook-signature'] as string).split(' ').length, 1);
    assert.deepEqual(verifies(fresh, second), { stripe: true, standard: true });
    assert.deepEqual(verifies(old, second), { stripe: false, standard: false });
    await w.stop();
    w = undefined;
  });

  test('a stored URL at 127.0.0.1 delivered without allow-private fails address_blocked, unsent', async () => {
    // Made while the API allows private addresses; delivered by a worker that does not.
    const we = await api.endpoint();
    w = worker(s.h, deliveryContext({ ...s.h.config.webhooks, allowPrivate: false }, s.h.secretBox));
    await api.customer('blocked@example.com');
    // Four attempts on the 100,100,200 schedule, then the delivery is failed.
    await waitFor(async () => (await api.jobs(we.id)).every((j) => j.state === 'failed'));
    const rows = await api.attempts(we.id);
    assert.equal(rows.length, 4);
    for (const a of rows) {
      assert.deepEqual([a.status, a.error, a.http_status], ['failed', 'address_blocked', null]);
    }
    assert.equal(s.rx.received.length, 0, 'nothing reached the receiver');
    await w.stop();
    w = undefined;
  });
});

forEachDatabase('webhook deliveries: disabled after five days of failures', (dialect) => {
  const { s, api } = useSuite(dialect);
  let offset = 0;
  const now = () => Date.now() + offset;
  let w: Worker | undefined;
  after(() => w?.stop());

  /** Retries an hour apart: only moving the clock brings the next attempt. */
  const hourly = (): DeliveryContext => ({
    ...deliveryContext(s.h.config.webhooks, s.h.secretBox),
    schedule: Array(9).fill(3_600_000),
    jitter: false,
  });
  const advance = (ms: number) => {
    offset += ms;
  };

  test('every attempt failing for 5 days disables the endpoint and its pending deliveries stop', async () => {
    offset = 0;
    w = worker(s.h, hourly(), now);
    s.rx.answer = () => ({ status: 500 });
    const we = await api.endpoint();
    await api.customer('one@example.com');
    await api.customer('two@example.com');
    await waitFor(async () => (await api.attempts(we.id)).length === 2);

    advance(4 * DAY);
    await waitFor(async () => (await api.attempts(we.id)).length === 4);
    assert.equal(await api.status(we.id), 'enabled', 'four days of failures are not yet five');

    advance(DAY);
    // The first of the two due retries fails five days after the first failure: disabled.
    await waitFor(async () => (await api.status(we.id)) === 'disabled');
    const sent = s.rx.received.length;
    advance(2 * 3_600_000);
    await waitFor(async () =>
      (await api.jobs(we.id)).every((j) => j.state !== 'queued' && j.state !== 'running'),
    );
    const jobs = await api.jobs(we.id);
    assert.deepEqual(jobs.map((j) => j.state).sort(), ['cancelled', 'cancelled']);
    assert.equal(s.rx.received.length, sent, 'nothing sent once disabled');
    assert.equal(sent, 5);
    assert.equal((await api.attempts(we.id)).length, 5);
    await w.stop();
    w = undefined;
  });

  test('a success before the five days are up starts the count again', async () => {
    offset = 0;
    w = worker(s.h, hourly(), now);
    let ok = false;
    s.rx.answer = () => (ok ? { status: 200 } : { status: 500 });
    const we = await api.endpoint();
    await api.customer('three@example.com');
    await waitFor(async () => (await api.attempts(we.id)).length === 1);

    ok = true;
    advance(4 * DAY);
    await waitFor(async () => (await api.attempts(we.id)).some((a) => a.status === 'succeeded'));
    ok = false;
    await api.customer('four@example.com');
    await waitFor(async () => (await api.attempts(we.id)).length === 3);

    // Six days after the first failure, two after the run that followed the success began.
    advance(2 * DAY);
    await waitFor(async () => (await api.attempts(we.id)).length === 4);
    assert.equal(await api.status(we.id), 'enabled');
    const [, , , last] = await api.attempts(we.id);
    assert.equal(last?.status, 'failed');
    assert.notEqual(last?.next_attempt_at, null, 'still on its schedule');
    await w.stop();
    w = undefined;
  });
});
