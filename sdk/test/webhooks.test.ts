import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LuniPay, WebhookVerificationError } from '../src/index.js';
import { rejection } from './helpers.js';

/**
 * Headers as the LuniPay server signs a delivery (two active secrets, mid-roll), computed once
 * with openssl apart from both the server's code and this SDK's: the server's own tests check
 * its signing function against the very same vectors.
 */
const VECTOR = {
  body: '{"id":"evt_test","object":"event"}',
  timestamp: 1713100800,
  secrets: [
    'whsec_BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=',
    'whsec_CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=',
  ],
  headers: {
    'stripe-signature':
      't=1713100800,v1=a3c5d0d76fe5f51c4684ff109042959e4ca3e5425aa116f6600809fcfdd209f6,' +
      'v1=c16d45ab8bec9f288ed2eeac3adb59763e3494254812637c341c0a1985cf16b4',
    'webhook-id': 'evt_test',
    'webhook-timestamp': '1713100800',
    'webhook-signature':
      'v1,PQ3RC02GD9MfN0p0exPftcEoG525peXnhs0+ByJPjs4= v1,8yi7n6T/51ZeLZ0yuQ86IIwRZPzx5huA0TWCj0WUYic=',
  },
};
const STRANGER = 'whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
const at = { nowSeconds: VECTOR.timestamp };
const only = (names: string[]) =>
  Object.fromEntries(Object.entries(VECTOR.headers).filter(([name]) => names.includes(name)));
const STRIPE = ['stripe-signature'];
const STANDARD = ['webhook-id', 'webhook-timestamp', 'webhook-signature'];

async function refused(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await rejection(promise);
  assert.ok(error instanceof WebhookVerificationError, String(error));
  assert.equal(error.code, code);
  assert.equal(error.type, 'signature_verification_error');
}

describe('LuniPay.webhooks.verify', () => {
  it('verifies the server’s headers, in either scheme, with either active secret', async () => {
    for (const names of [STRIPE, STANDARD, [...STRIPE, ...STANDARD]]) {
      for (const secret of VECTOR.secrets) {
        const event = await LuniPay.webhooks.verify(VECTOR.body, only(names), secret, at);
        assert.deepEqual(event, { id: 'evt_test', object: 'event' }, names.join(' '));
      }
      await refused(LuniPay.webhooks.verify(VECTOR.body, only(names), STRANGER, at), 'signature_invalid');
    }
    // Holding both secrets while switching works too.
    assert.ok(
      await LuniPay.webhooks.verify(VECTOR.body, VECTOR.headers, [STRANGER, VECTOR.secrets[1] as string], at),
    );
  });

  it('takes the body as bytes, and headers as a Headers object or a record of any case', async () => {
    const bytes = new TextEncoder().encode(VECTOR.body);
    const secret = VECTOR.secrets[0] as string;
    assert.ok(await LuniPay.webhooks.verify(bytes, VECTOR.headers, secret, at));
    assert.ok(await LuniPay.webhooks.verify(VECTOR.body, new Headers(only(STANDARD)), secret, at));
    assert.ok(
      await LuniPay.webhooks.verify(
        VECTOR.body,
        { 'Stripe-Signature': VECTOR.headers['stripe-signature'] },
        secret,
        at,
      ),
    );
  });

  it('refuses a changed body, id or timestamp, and a missing signature', async () => {
    const secret = VECTOR.secrets[0] as string;
    const verify = (body: string, headers: Record<string, string>) =>
      LuniPay.webhooks.verify(body, headers, secret, at);
    await refused(verify(`${VECTOR.body} `, VECTOR.headers), 'signature_invalid');
    await refused(verify(VECTOR.body.replace('evt_test', 'evt_tesT'), VECTOR.headers), 'signature_invalid');
    await refused(verify(VECTOR.body, { ...only(STANDARD), 'webhook-id': 'evt_other' }), 'signature_invalid');
    await refused(
      verify(VECTOR.body, { ...only(STANDARD), 'webhook-timestamp': '1713100801' }),
      'signature_invalid',
    );
    await refused(
      verify(VECTOR.body, {
        'stripe-signature': VECTOR.headers['stripe-signature'].replace('t=1713100800', 't=1713100801'),
      }),
      'signature_invalid',
    );
    await refused(verify(VECTOR.body, { 'stripe-signature': 'v1=abc' }), 'signature_invalid');
    await refused(
      verify(VECTOR.body, { 'webhook-signature': VECTOR.headers['webhook-signature'] }),
      'signature_missing',
    );
    await refused(verify(VECTOR.body, {}), 'signature_missing');
  });

  it('refuses a signature older or newer than the tolerance (300 s unless told)', async () => {
    const secret = VECTOR.secrets[0] as string;
    const verify = (options: { nowSeconds: number; toleranceSeconds?: number }) =>
      LuniPay.webhooks.verify(VECTOR.body, VECTOR.headers, secret, options);
    assert.ok(await verify({ nowSeconds: VECTOR.timestamp + 300 }));
    await refused(verify({ nowSeconds: VECTOR.timestamp + 301 }), 'timestamp_outside_tolerance');
    await refused(verify({ nowSeconds: VECTOR.timestamp - 301 }), 'timestamp_outside_tolerance');
    assert.ok(await verify({ nowSeconds: VECTOR.timestamp + 3600, toleranceSeconds: 3600 }));
    assert.ok(await verify({ nowSeconds: VECTOR.timestamp + 10 ** 6, toleranceSeconds: 0 }));
    // Without a clock of its own, now is now: the 2024 vector is long past.
    await refused(
      LuniPay.webhooks.verify(VECTOR.body, VECTOR.headers, secret),
      'timestamp_outside_tolerance',
    );
  });

  it('refuses a secret that is not whsec_…', async () => {
    for (const secret of ['', 'sk_test_abc', 'whsec_!!!']) {
      await assert.rejects(LuniPay.webhooks.verify(VECTOR.body, VECTOR.headers, secret, at), TypeError);
    }
  });
});

describe('LuniPay.webhooks.generateTestHeaders', () => {
  it('makes exactly the server’s headers for the same body, secret and timestamp', async () => {
    const headers = await LuniPay.webhooks.generateTestHeaders({
      payload: VECTOR.body,
      secret: VECTOR.secrets[0] as string,
      timestamp: VECTOR.timestamp,
    });
    assert.deepEqual(headers, {
      'Content-Type': 'application/json',
      'Stripe-Signature': VECTOR.headers['stripe-signature'].split(',').slice(0, 2).join(','),
      'webhook-id': 'evt_test',
      'webhook-timestamp': '1713100800',
      'webhook-signature': VECTOR.headers['webhook-signature'].split(' ')[0],
    });
  });

  it('round-trips through verify, for a string or an object payload', async () => {
    const secret = 'whsec_q2VZl0NNX1qJ7s8sYqk1c6b7N0m2Qv5hW3eZr4tU9yA=';
    const event = {
      id: 'evt_01JRZK2Q4T9ZS0VCNA3HX7W9EY',
      object: 'event',
      type: 'customer.created',
      data: { object: {} },
    };
    const headers = await LuniPay.webhooks.generateTestHeaders({ payload: event, secret });
    assert.equal(headers['webhook-id'], event.id);
    assert.deepEqual(await LuniPay.webhooks.verify(JSON.stringify(event), headers, secret), event);
    const custom = await LuniPay.webhooks.generateTestHeaders({
      payload: 'not json',
      secret,
      id: 'msg_1',
      timestamp: 5,
    });
    assert.equal(custom['webhook-id'], 'msg_1');
    assert.equal(custom['webhook-timestamp'], '5');
    await refused(
      LuniPay.webhooks.verify('not json', custom, STRANGER, { nowSeconds: 5 }),
      'signature_invalid',
    );
    const lunipay = new LuniPay('sk_test_x', { fetch: async () => assert.fail('no request') });
    assert.equal(lunipay.webhooks, LuniPay.webhooks);
  });
});
