import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { forEachDatabase, useHarness } from '../../test/helpers/harness.js';
import { type Receiver, startReceiver, waitFor } from '../../test/helpers/receiver.js';
import { startWorker, type Worker } from '../jobs/worker.js';
import { jsonLogger } from '../log.js';
import { createStripeGateway } from '../stripe/gateway.js';
import { deliveryContext } from './deliver-event.job.js';
import { writeEventAndDeliveries } from './deliveries.enqueue.js';

/**
 * Deliveries end to end: the API writes customers, a worker in this process delivers their
 * events to a real HTTP receiver on 127.0.0.1, and both the Stripe SDK and the Standard
 * Webhooks library verify every request with the endpoint's secrets.
 */

const ENV = {
  LUNIPAY_WEBHOOK_ALLOW_PRIVATE: 'true',
  LUNIPAY_WEBHOOK_RETRY_SCHEDULE: '100,100,200',
  LUNIPAY_WEBHOOK_TIMEOUT_MS: '1000',
};
const stripe = new Stripe('sk_test_unused');

forEachDatabase('webhook deliveries', (dialect) => {
  const { h, acct } = useHarness(dialect, ENV);
  let rx: Receiver;
  let worker: Worker;
  before(async () => {
    worker = startWorker({
      db: h.db,
      gateway: createStripeGateway(h.config.stripe),
      log: jsonLogger('silent'),
      eventHook: writeEventAndDeliveries,
      deliveries: deliveryContext(h.config.webhooks, h.secretBox),
      settings: { pollMs: 10, concurrency: 1, webhookConcurrency: 4 },
    });
  });
  after(() => worker.stop());
  beforeEach(async () => {
    await rx?.close();
    rx = await startReceiver();
  });
  after(() => rx?.close());

  const endpoint = async (json: Record<string, unknown> = {}) => {
    const res = await h.request('POST', '/v1/webhook_endpoints', {
      key: acct.test,
      json: { url: rx.url, enabled_events: ['*'], ...json },
    });
    assert.equal(res.status, 200, res.raw);
    return res.body as { id: string; secret: string };
  };
  const customer = async (email = 'ada@example.com') => {
    const res = await h.request('POST', '/v1/customers', {
      key: acct.test,
      json: { email, first_name: 'Ada', last_name: 'Lovelace' },
    });
    assert.equal(res.status, 200, res.raw);
    return res.body.id as string;
  };
  const update = (id: string, json: Record<string, unknown>) =>
    h.request('POST', `/v1/customers/${id}`, { key: acct.test, json });
  const attempts = (we: string) =>
    h.db.kysely
      .selectFrom('webhook_attempts')
      .selectAll()
      .where('endpoint_id', '=', we)
      .orderBy('id')
      .execute();
  const verify = (secret: string, r: Receiver['received'][number]) => {
    const header = r.headers['stripe-signature'] as string;
    const viaStripe = stripe.webhooks.constructEvent(r.body, header, secret);
    const viaStandard = new Webhook(secret).verify(r.body, {
      'webhook-id': r.headers['webhook-id'] as string,
      'webhook-timestamp': r.headers['webhook-timestamp'] as string,
      'webhook-signature': r.headers['webhook-signature'] as string,
    }) as { id: string };
    assert.equal(viaStripe.id, viaStandard.id);
    assert.equal(r.headers['webhook-id'], viaStandard.id);
    return JSON.parse(r.body);
  };

  test('each event is delivered once, signed, verified by both libraries, and its attempt recorded', async () => {
    const we = await endpoint();
    const id = await customer();
    await waitFor(() => rx.received.length >= 1);
    const body = verify(we.secret, rx.received[0] as Receiver['received'][number]);
    assert.equal(body.type, 'customer.created');
    assert.equal(body.data.object.id, id);
    assert.equal(body.pending_webhooks, 1);
    assert.equal(rx.received[0]?.headers['user-agent'], 'LuniPay-Webhooks/1.0');
    assert.equal(rx.received[0]?.headers['content-type'], 'application/json');
    await waitFor(async () => (await attempts(we.id)).length === 1);
    const [a] = await attempts(we.id);
    assert.equal(a?.status, 'succeeded');
    assert.equal(a?.http_status, 200);
    assert.equal(a?.error, null);
    assert.equal(a?.attempt, 1);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(rx.received.length, 1, 'an acknowledged delivery is not repeated');
  });

  test('a 500 is retried on the schedule until a 2xx; a 3xx is a failure and not followed', async () => {
    const we = await endpoint();
    const answers = [{ status: 500 }, { status: 302, headers: { location: 'http://127.0.0.1:1/' } }];
    rx.answer = () => answers.shift() ?? { status: 204 };
    await customer();
    await waitFor(() => rx.received.length >= 3);
    await waitFor(async () => (await attempts(we.id)).length === 3);
    const rows = await attempts(we.id);
    assert.deepEqual(
      rows.map((r) => [r.attempt, r.status, r.http_status, r.error]),
      [
        [1, 'failed', 500, 'http_status'],
        [2, 'failed', 302, 'http_status'],
        [3, 'succeeded', 204, null],
      ],
    );
    assert.ok(rows[0]?.next_attempt_at !== null);
    for (const r of rx.received) verify(we.secret, r);
  });

  test('after the last attempt the delivery is failed and does not hold back the next event', async () => {
    const we = await endpoint();
    rx.answer = (r) => (JSON.parse(r.body).type === 'customer.created' ? { status: 500 } : { status: 200 });
    const id = await customer();
    await update(id, { first_name: 'Augusta' });
    await waitFor(async () => (await attempts(we.id)).length === 5);
    const rows = await attempts(we.id);
    assert.deepEqual(
      rows.map((r) => r.status),
      ['failed', 'failed', 'failed', 'failed', 'succeeded'],
    );
    // In order: the update only after the create had finally failed.
    const types = rx.received.map((r) => JSON.parse(r.body).type);
    assert.deepEqual(types, [...Array(4).fill('customer.created'), 'customer.updated']);
    assert.equal(rows[3]?.next_attempt_at, null);
  });

  test("one customer's failing events do not hold back another customer's", async () => {
    const we = await endpoint();
    const stuck = await customer('stuck@example.com');
    // Each of its attempts hangs until the timeout (1 s): its four attempts take seconds.
    rx.answer = (r) => (JSON.parse(r.body).data.object.id === stuck ? 'hang' : { status: 200 });
    const other = await customer('flowing@example.com');
    await update(other, { first_name: 'B' });
    await waitFor(() => rx.received.filter((r) => JSON.parse(r.body).data.object.id === other).length === 2);
    const stuckSeen = rx.received.filter((r) => JSON.parse(r.body).data.object.id === stuck).length;
    assert.ok(stuckSeen < 4, 'the other customer went past while this one was still retrying');
    void we;
  });

  test('a timeout, a refused connection and a 429 with Retry-After are failures, retried', async () => {
    const we = await endpoint();
    const answers: ('hang' | { status: number; headers?: Record<string, string> })[] = [
      'hang',
      { status: 429, headers: { 'retry-after': '1' } },
    ];
    rx.answer = () => answers.shift() ?? { status: 200 };
    await customer();
    await waitFor(async () => (await attempts(we.id)).length === 3, 15_000);
    const rows = await attempts(we.id);
    assert.deepEqual(
      rows.map((r) => r.error),
      ['timeout', 'http_status', null],
    );
    const gap = (rx.received[2]?.at ?? 0) - (rx.received[1]?.at ?? 0);
    assert.ok(gap >= 950, `Retry-After honoured (waited ${gap} ms)`);

    const closed = await startReceiver();
    const url = closed.url;
    await closed.close();
    const refused = await endpoint({ url, enabled_events: ['customer.updated'] });
    const id = await customer('refused@example.com');
    await update(id, { first_name: 'C' });
    await waitFor(async () => (await attempts(refused.id)).length >= 1);
    assert.equal((await attempts(refused.id))[0]?.error, 'connection_failed');
  });

  test('a 410 disables the endpoint at once, and events written while disabled are not queued', async () => {
    const we = await endpoint();
    rx.answer = () => ({ status: 410 });
    const id = await customer();
    await waitFor(async () => (await attempts(we.id)).length === 1);
    await waitFor(async () => {
      const got = await h.request('GET', `/v1/webhook_endpoints/${we.id}`, { key: acct.test });
      return got.body.status === 'disabled';
    });
    await update(id, { first_name: 'D' });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(rx.received.length, 1);
    const queued = await h.db.kysely
      .selectFrom('jobs')
      .select('id')
      .where('endpoint_id', '=', we.id)
      .where('state', '=', 'queued')
      .execute();
    assert.equal(queued.length, 0);
  });

  test('deleting an endpoint cancels its waiting deliveries in the same transaction', async () => {
    rx.answer = () => 'hang';
    const we = await endpoint();
    const id = await customer();
    assert.equal((await update(id, { first_name: 'Grace' })).status, 200);
    assert.equal((await update(id, { first_name: 'Ida' })).status, 200);
    // The first delivery hangs in flight; the customer's next two wait behind it.
    await waitFor(() => rx.received.length >= 1);
    const jobsOf = () =>
      h.db.kysely.selectFrom('jobs').selectAll().where('endpoint_id', '=', we.id).orderBy('seq').execute();
    assert.deepEqual(
      (await jobsOf()).map((j) => j.state),
      ['running', 'queued', 'queued'],
    );
    const res = await h.request('DELETE', `/v1/webhook_endpoints/${we.id}`, { key: acct.test });
    assert.equal(res.status, 200, res.raw);
    assert.deepEqual(
      (await jobsOf()).slice(1).map((j) => [j.state, j.note]),
      [
        ['cancelled', 'endpoint deleted'],
        ['cancelled', 'endpoint deleted'],
      ],
    );
    // The one in flight times out, and its retry finds the endpoint gone: nothing more is sent.
    await waitFor(async () => (await jobsOf())[0]?.state === 'cancelled');
    assert.equal(rx.received.length, 1);
  });

  test("after a customer's deletion a pending delivery of its earlier event sends the redacted stub", async () => {
    const we = await endpoint({ enabled_events: ['customer.created'] });
    // Refused until the body is the stub: an attempt already on its way when the delete
    // commits may still carry the old payload (at least once), but every later one is redacted.
    rx.answer = (r) => (JSON.parse(r.body).data.object.deleted ? { status: 200 } : { status: 500 });
    const id = await customer('erased@example.com');
    await waitFor(() => rx.received.length >= 1);
    const del = await h.request('DELETE', `/v1/customers/${id}`, { key: acct.test });
    assert.equal(del.status, 200);
    await waitFor(async () => (await attempts(we.id)).some((a) => a.status === 'succeeded'));
    const last = verify(we.secret, rx.received.at(-1) as Receiver['received'][number]);
    assert.deepEqual(last.data.object, { id, object: 'customer', deleted: true });
    assert.equal(last.id, JSON.parse(rx.received[0]?.body ?? '{}').id);
    const stored = JSON.stringify(await attempts(we.id));
    assert.ok(!stored.includes('erased@example.com'));
  });

  test('pending_webhooks counts the endpoints still waiting for the event, when read', async () => {
    // An account of its own: the endpoints of earlier tests would count too.
    const { test: key } = await h.account('Pending');
    for (const enabled_events of [['customer.created'], ['customer.deleted']]) {
      const res = await h.request('POST', '/v1/webhook_endpoints', {
        key,
        json: { url: rx.url, enabled_events },
      });
      assert.equal(res.status, 200);
    }
    let release = false;
    rx.answer = () => (release ? { status: 200 } : { status: 500 });
    const made = await h.request('POST', '/v1/customers', {
      key,
      json: { email: 'pending@example.com', first_name: 'P', last_name: 'Q' },
    });
    assert.equal(made.status, 200);
    await waitFor(() => rx.received.length >= 1);
    const eventId = JSON.parse(rx.received[0]?.body ?? '{}').id as string;
    assert.equal(JSON.parse(rx.received[0]?.body ?? '{}').pending_webhooks, 1);
    const read = async () => (await h.request('GET', `/v1/events/${eventId}`, { key })).body;
    assert.equal((await read()).pending_webhooks, 1);
    const list = await h.request('GET', '/v1/events', { key, query: { limit: 3 } });
    assert.equal(list.body.data.find((e: { id: string }) => e.id === eventId).pending_webhooks, 1);
    release = true;
    await waitFor(async () => (await read()).pending_webhooks === 0);
  });

  test('attempts list, resend and recover, and their bad input and other accounts', async () => {
    const { test: key } = await h.account('Routes');
    const made = await h.request('POST', '/v1/customers', {
      key,
      json: { email: 'routes@example.com', first_name: 'R', last_name: 'S' },
    });
    const evt = (await h.request('GET', '/v1/events', { key })).body.data[0].id as string;
    // Made after the event: only recover reaches it.
    const we = (
      await h.request('POST', '/v1/webhook_endpoints', { key, json: { url: rx.url, enabled_events: ['*'] } })
    ).body;
    const since = Math.floor(Date.now() / 1000) - 60;
    const rec = await h.request('POST', `/v1/webhook_endpoints/${we.id}/recover`, { key, json: { since } });
    assert.equal(rec.status, 200, rec.raw);
    assert.deepEqual(rec.body, { object: 'recovery', endpoint: we.id, queued: 1 });
    await waitFor(() => rx.received.some((r) => JSON.parse(r.body).id === evt));
    const res = await h.request('POST', `/v1/events/${evt}/resend`, { key, json: { endpoint: we.id } });
    assert.equal(res.status, 200, res.raw);
    await waitFor(() => rx.received.filter((r) => JSON.parse(r.body).id === evt).length === 2);
    await waitFor(async () => {
      const list = await h.request('GET', `/v1/webhook_endpoints/${we.id}/attempts`, {
        key,
        query: { event: evt },
      });
      return list.status === 200 && list.body.data.length === 2;
    });
    const page = await h.request('GET', `/v1/webhook_endpoints/${we.id}/attempts`, {
      key,
      query: { limit: 1 },
    });
    assert.equal(page.body.has_more, true);
    assert.equal(page.body.data[0].object, 'webhook_attempt');
    // Another account's endpoint and event are 404s like unknown ones; bad input is a 400.
    const other = acct.test;
    for (const [method, url, json] of [
      ['GET', `/v1/webhook_endpoints/${we.id}/attempts`, undefined],
      ['POST', `/v1/webhook_endpoints/${we.id}/recover`, { since }],
      ['POST', `/v1/events/${evt}/resend`, { endpoint: we.id }],
    ] as const) {
      assert.equal((await h.request(method, url, { key: other, json })).status, 404);
      assert.equal((await h.request(method, url, { key: null, json })).status, 401);
    }
    const old = await h.request('POST', `/v1/webhook_endpoints/${we.id}/recover`, {
      key,
      json: { since: 1 },
    });
    assert.equal(old.status, 400);
    assert.equal(old.body.error.code, 'parameter_invalid');
    const bad = await h.request('GET', `/v1/webhook_endpoints/${we.id}/attempts`, {
      key,
      query: { event: 'x' },
    });
    assert.equal(bad.status, 400);
    void made;
  });
});
