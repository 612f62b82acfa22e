import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import Stripe from 'stripe';
import { type FakeStripe, startFakeStripe } from '../../test/fake-stripe/server.js';
import { loadConfig } from '../config.js';
import {
  createStripeGateway,
  removedMetadataKeys,
  type StripeCallError,
  type StripeGateway,
} from './gateway.js';

const TEST_KEY = 'sk_test_platformTESTsecret';
const LIVE_KEY = 'sk_live_platformLIVEsecret';
const ACCT = 'acct_merchantA';
const FIELDS = {
  email: 'jane@example.com',
  name: 'Jane Doe',
  phone: '+15555550100',
  metadata: { lunipay_customer_id: 'cus_lp1', tier: 'gold' },
};

let fake: FakeStripe;
let gateway: StripeGateway;

before(async () => {
  fake = await startFakeStripe();
  gateway = createStripeGateway({ testKey: TEST_KEY, liveKey: LIVE_KEY, apiBase: fake.url, timeoutMs: 2000 });
});
after(() => fake.close());
beforeEach(() => fake.reset());

/** Runs `fn`, which must fail with a StripeCallError, and returns that error. */
async function callError(fn: () => Promise<unknown>): Promise<StripeCallError> {
  try {
    await fn();
  } catch (err) {
    assert.equal((err as Error).name, 'StripeCallError');
    return err as StripeCallError;
  }
  assert.fail('expected a StripeCallError');
}

function assertSafeMessage(err: Error): void {
  for (const secret of [TEST_KEY, LIVE_KEY, 'sk_', FIELDS.email, 'Jane', FIELDS.phone]) {
    assert.ok(!err.message.includes(secret), `message leaks ${secret}: ${err.message}`);
  }
}

describe('configuration', () => {
  test('enabled() reflects which platform keys are set', async () => {
    const testOnly = createStripeGateway({ testKey: TEST_KEY, liveKey: '', apiBase: fake.url });
    assert.equal(testOnly.enabled('test'), true);
    assert.equal(testOnly.enabled('live'), false);
    assert.equal(gateway.enabled('live'), true);
    const err = await callError(() => testOnly.createCustomer('live', ACCT, FIELDS, 'k1'));
    assert.deepEqual([err.retryable, err.status, err.code], [false, null, 'mode_not_configured']);
    assert.equal(fake.requests.length, 0);
  });

  // Checked once, by the configuration the gateway is made from.
  test('a key of the wrong mode is refused without echoing it', () => {
    assert.throws(
      () => loadConfig({ STRIPE_TEST_SECRET_KEY: LIVE_KEY }),
      (err: Error) => !err.message.includes(LIVE_KEY) && /test-mode/.test(err.message),
    );
    assert.throws(() => loadConfig({ STRIPE_SECRET_KEY: TEST_KEY }), /live-mode/);
  });

  test('an API base with a path is refused', () => {
    assert.throws(
      () => loadConfig({ STRIPE_TEST_SECRET_KEY: TEST_KEY, STRIPE_API_BASE: `${fake.url}/stripe` }),
      /path/,
    );
  });
});

describe('calls', () => {
  test('create sends Stripe-Account, Idempotency-Key and the test-mode key', async () => {
    const { id } = await gateway.createCustomer('test', ACCT, FIELDS, 'create-cus_lp1');
    const [req] = fake.requests;
    assert.equal(fake.requests.length, 1);
    assert.equal(req?.method, 'POST');
    assert.equal(req?.path, '/v1/customers');
    assert.equal(req?.authorization, `Bearer ${TEST_KEY}`);
    assert.equal(req?.stripeAccount, ACCT);
    assert.equal(req?.idempotencyKey, 'create-cus_lp1');
    assert.deepEqual(req?.body, FIELDS);
    const [customer] = fake.customers(ACCT);
    assert.equal(customer?.id, id);
    assert.equal(customer?.livemode, false);
    assert.deepEqual(customer?.metadata, FIELDS.metadata);
  });

  test('live mode uses the live platform key', async () => {
    await gateway.createCustomer('live', ACCT, FIELDS, 'create-live');
    assert.equal(fake.requests[0]?.authorization, `Bearer ${LIVE_KEY}`);
    assert.equal(fake.customers(ACCT)[0]?.livemode, true);
  });

  test('create omits a null name and phone', async () => {
    await gateway.createCustomer('test', ACCT, { ...FIELDS, name: null, phone: null }, 'k');
    const body = fake.requests[0]?.body ?? {};
    assert.ok(!('name' in body) && !('phone' in body));
    assert.equal(fake.customers(ACCT)[0]?.name, null);
  });

  test('update sends the headers, clears null fields and unsets removed metadata keys', async () => {
    const { id } = await gateway.createCustomer('test', ACCT, FIELDS, 'create');
    await gateway.updateCustomer(
      'test',
      ACCT,
      id,
      {
        email: 'new@example.com',
        name: null,
        phone: null,
        metadata: { lunipay_customer_id: 'cus_lp1', plan: 'pro' },
        unsetMetadataKeys: ['tier', 'plan'],
      },
      'update-1',
    );
    const req = fake.requests[1];
    assert.equal(req?.path, `/v1/customers/${id}`);
    assert.equal(req?.authorization, `Bearer ${TEST_KEY}`);
    assert.equal(req?.stripeAccount, ACCT);
    assert.equal(req?.idempotencyKey, 'update-1');
    assert.deepEqual(req?.body, {
      email: 'new@example.com',
      name: '',
      phone: '',
      metadata: { tier: '', plan: 'pro', lunipay_customer_id: 'cus_lp1' },
    });
    const customer = fake.customers(ACCT)[0];
    assert.deepEqual(
      [customer?.email, customer?.name, customer?.phone, customer?.metadata],
      ['new@example.com', null, null, { lunipay_customer_id: 'cus_lp1', plan: 'pro' }],
    );
  });

  test('a stored error Stripe replays is marked replayed; the fresh one before it is not', async () => {
    fake.failNext(1, { status: 500, stored: true });
    const fresh = await callError(() => gateway.createCustomer('test', ACCT, FIELDS, 'key-stored'));
    const replayed = await callError(() => gateway.createCustomer('test', ACCT, FIELDS, 'key-stored'));
    assert.deepEqual(
      [fresh.status, fresh.retryable, fresh.replayed, replayed.status, replayed.replayed],
      [500, true, false, 500, true],
    );
    assert.match(replayed.message, /HTTP 500 api_error \(req_fake\d+\) replayed$/);
    assert.doesNotMatch(fresh.message, /replayed/);
  });

  test('removedMetadataKeys lists the keys to unset', () => {
    assert.deepEqual(removedMetadataKeys({ a: '1', b: '2', c: '3' }, { b: '9', d: '4' }), ['a', 'c']);
  });

  test('delete sends the headers; deleting it again succeeds', async () => {
    const { id } = await gateway.createCustomer('test', ACCT, FIELDS, 'create');
    await gateway.deleteCustomer('test', ACCT, id, 'delete-1');
    const req = fake.requests[1];
    assert.deepEqual(
      [req?.method, req?.path, req?.stripeAccount, req?.idempotencyKey, req?.authorization],
      ['DELETE', `/v1/customers/${id}`, ACCT, 'delete-1', `Bearer ${TEST_KEY}`],
    );
    assert.deepEqual(fake.customers(ACCT), []);
    await gateway.deleteCustomer('test', ACCT, id, 'delete-2');
    assert.equal(fake.requests[2]?.status, 404);
  });

  test("the fake refuses a call without Stripe-Account, such as the SDK's del(id, options) pitfall", async () => {
    const port = new URL(fake.url).port;
    const stripe = new Stripe(TEST_KEY, { host: '127.0.0.1', port, protocol: 'http', maxNetworkRetries: 0 });
    const { id } = await gateway.createCustomer('test', ACCT, FIELDS, 'create');
    // Without the empty params object the options are sent as a query parameter, not as the header.
    const wrong = stripe.customers.del(id, { stripeAccount: ACCT } as Stripe.CustomerDeleteParams);
    await assert.rejects(wrong, (err: Stripe.errors.StripeError) => err.statusCode === 400);
    assert.deepEqual(
      [fake.requests[1]?.stripeAccount, fake.requests[1]?.body],
      [null, { stripeAccount: ACCT }],
    );
    assert.equal(fake.customers(ACCT).length, 1);
  });
});

describe('idempotency', () => {
  test('a retried create with the same key yields one customer', async () => {
    const first = await gateway.createCustomer('test', ACCT, FIELDS, 'create-cus_lp1');
    const second = await gateway.createCustomer('test', ACCT, FIELDS, 'create-cus_lp1');
    assert.equal(second.id, first.id);
    assert.equal(fake.customers(ACCT).length, 1);
    assert.equal(fake.requests[1]?.headers['idempotency-key'], 'create-cus_lp1');
  });

  test('a create that timed out but went through is not duplicated by its retry', async () => {
    const slow = createStripeGateway({ testKey: TEST_KEY, apiBase: fake.url, timeoutMs: 100 });
    fake.setDelay(300);
    const err = await callError(() => slow.createCustomer('test', ACCT, FIELDS, 'create-cus_lp1'));
    assert.deepEqual([err.retryable, err.status], [true, null]);
    assert.match(err.message, /timed out after 100ms/);
    assertSafeMessage(err);
    while (fake.requests[0]?.status === null) await new Promise((resolve) => setTimeout(resolve, 20));
    fake.setDelay(0);
    const { id } = await slow.createCustomer('test', ACCT, FIELDS, 'create-cus_lp1');
    assert.deepEqual(
      fake.customers(ACCT).map((c) => c.id),
      [id],
    );
  });

  test('reusing a key with other parameters is a non-retryable idempotency error', async () => {
    await gateway.createCustomer('test', ACCT, FIELDS, 'create-cus_lp1');
    const err = await callError(() =>
      gateway.createCustomer('test', ACCT, { ...FIELDS, email: 'other@example.com' }, 'create-cus_lp1'),
    );
    assert.deepEqual([err.retryable, err.status, err.type], [false, 400, 'idempotency_error']);
  });
});

describe('error classification', () => {
  for (const status of [500, 503, 429, 409]) {
    test(`HTTP ${status} is retryable`, async () => {
      fake.failNext(1, { status });
      const err = await callError(() => gateway.createCustomer('test', ACCT, FIELDS, 'k'));
      assert.deepEqual([err.retryable, err.status], [true, status]);
      assert.equal(fake.requests.length, 1, 'the SDK itself must not retry');
      assertSafeMessage(err);
    });
  }

  test('a 400 is not retryable, and Stripe text echoing customer data stays out of the message', async () => {
    const error = {
      type: 'invalid_request_error',
      code: 'email_invalid',
      message: `Invalid email: ${FIELDS.email}`,
    };
    fake.failNext(1, { status: 400, body: { error } });
    const err = await callError(() => gateway.createCustomer('test', ACCT, FIELDS, 'k'));
    assert.deepEqual([err.retryable, err.status, err.code], [false, 400, 'email_invalid']);
    assert.match(
      err.message,
      /customers\.create \(test mode\): HTTP 400 invalid_request_error email_invalid/,
    );
    assertSafeMessage(err);
  });

  test('updating a customer Stripe no longer has is not retryable', async () => {
    const err = await callError(() => gateway.updateCustomer('test', ACCT, 'cus_gone', FIELDS, 'k'));
    assert.deepEqual([err.retryable, err.status, err.code], [false, 404, 'resource_missing']);
  });

  test('a dropped connection is retryable', async () => {
    // The SDK retries a reset connection once on its own, even with maxNetworkRetries 0.
    fake.failNext(2, 'network');
    const err = await callError(() => gateway.deleteCustomer('test', ACCT, 'cus_x', 'k'));
    assert.deepEqual([err.retryable, err.status], [true, null]);
    assert.match(err.message, /network error/);
  });

  test('an outage fails every call until it ends', async () => {
    fake.failWhile(() => true, { status: 502 });
    for (const key of ['k1', 'k2']) {
      const err = await callError(() => gateway.createCustomer('test', ACCT, FIELDS, key));
      assert.deepEqual([err.retryable, err.status], [true, 502]);
    }
    fake.clearFaults();
    await gateway.createCustomer('test', ACCT, FIELDS, 'k1');
    assert.equal(fake.customers(ACCT).length, 1);
  });

  test('a bad platform key is not retryable and is not echoed', async () => {
    const bad = createStripeGateway({ testKey: 'sk_test_revoked', apiBase: fake.url });
    fake.failNext(1, {
      status: 401,
      body: {
        error: { type: 'invalid_request_error', message: 'Invalid API Key provided: sk_test_revoked' },
      },
    });
    const err = await callError(() => bad.createCustomer('test', ACCT, FIELDS, 'k'));
    assert.deepEqual([err.retryable, err.status], [false, 401]);
    assert.ok(!err.message.includes('sk_test_revoked'));
  });
});

describe('findCustomer', () => {
  test('finds a customer by lunipay_customer_id in a creation window, paging, on the connected account only', async () => {
    for (let i = 0; i < 120; i++) {
      const metadata = { lunipay_customer_id: `cus_lp${i}`, ...(i === 0 ? { tier: 'gold' } : {}) };
      await gateway.createCustomer('test', ACCT, { ...FIELDS, metadata }, `create-${i}`);
    }
    const creates = fake.requests.length;
    const now = Math.floor(Date.now() / 1000);
    const window = { gte: now - 60, lte: now + 60 };
    const found = await gateway.findCustomer('test', ACCT, 'cus_lp0', window);
    assert.deepEqual(found, {
      id: fake.customers(ACCT)[0]?.id,
      metadataKeys: ['lunipay_customer_id', 'tier'],
    });
    const pages = fake.requests.slice(creates);
    assert.deepEqual(
      pages.map((r) => [r.method, r.path, r.stripeAccount, r.authorization]),
      [
        ['GET', '/v1/customers', ACCT, `Bearer ${TEST_KEY}`],
        ['GET', '/v1/customers', ACCT, `Bearer ${TEST_KEY}`],
      ],
    );
    assert.deepEqual(pages[0]?.body, {
      created: { gte: String(window.gte), lte: String(window.lte) },
      limit: '100',
    });
    assert.equal(typeof pages[1]?.body.starting_after, 'string');

    assert.equal(
      await gateway.findCustomer('test', ACCT, 'cus_lp0', { gte: now + 3600, lte: now + 7200 }),
      null,
    );
    assert.equal(await gateway.findCustomer('test', 'acct_other', 'cus_lp0', window), null);
    assert.equal(await gateway.findCustomer('live', ACCT, 'cus_lp0', window), null);
    assert.equal(await gateway.findCustomer('test', ACCT, 'cus_nobody', window), null);
  });

  test('a failing list is classified like any call', async () => {
    fake.failNext(1, { status: 503 });
    const err = await callError(() => gateway.findCustomer('test', ACCT, 'cus_lp0', { gte: 0, lte: 1 }));
    assert.deepEqual([err.retryable, err.status], [true, 503]);
    assert.match(err.message, /customers\.list/);
  });
});
