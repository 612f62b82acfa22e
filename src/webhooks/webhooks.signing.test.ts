import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { newSigningSecret } from './webhooks.secrets.js';
import { signatureHeaders, standardSignature, stripeSignature } from './webhooks.signing.js';

/**
 * Receivers verify deliveries with libraries we do not control: Stripe's own SDK and the
 * Standard Webhooks reference library, unmodified. During a roll, each of the active secrets
 * verifies on its own; any other secret is refused.
 */

const stripe = new Stripe('sk_test_unused');
const body = JSON.stringify({
  id: 'evt_01JRZK2Q4T9ZS0VCNA3HX7W9EY',
  object: 'event',
  type: 'customer.updated',
  data: { object: { id: 'cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY', first_name: 'Zoë ✓' } },
});
const eventId = 'evt_01JRZK2Q4T9ZS0VCNA3HX7W9EY';
const now = () => Math.floor(Date.now() / 1000);

test('the headers of a delivery', () => {
  const secret = newSigningSecret();
  const timestamp = now();
  const headers = signatureHeaders({ body, timestamp, eventId, secrets: [secret] });
  assert.deepEqual(Object.keys(headers), [
    'Content-Type',
    'User-Agent',
    'Stripe-Signature',
    'webhook-id',
    'webhook-timestamp',
    'webhook-signature',
  ]);
  assert.equal(headers['Content-Type'], 'application/json');
  assert.equal(headers['User-Agent'], 'LuniPay-Webhooks/1.0');
  assert.equal(headers['webhook-id'], eventId);
  assert.equal(headers['webhook-timestamp'], String(timestamp));
  assert.match(headers['Stripe-Signature'] ?? '', new RegExp(`^t=${timestamp},v1=[0-9a-f]{64}$`));
  assert.match(headers['webhook-signature'] ?? '', /^v1,[A-Za-z0-9+/]{43}=$/);
  assert.throws(() => signatureHeaders({ body, timestamp, eventId, secrets: [] }));
  assert.throws(() => signatureHeaders({ body, timestamp, eventId, secrets: ['not-whsec'] }));
});

test('Stripe’s SDK verifies with each active secret and refuses any other', () => {
  const [current, previous, stranger] = [newSigningSecret(), newSigningSecret(), newSigningSecret()];
  const headers = signatureHeaders({ body, timestamp: now(), eventId, secrets: [current, previous] });
  const header = headers['Stripe-Signature'] as string;
  assert.equal(header.split(',').length, 3, 't= and one v1= per secret');
  for (const secret of [current, previous]) {
    const event = stripe.webhooks.constructEvent(body, header, secret);
    assert.equal(event.id, eventId);
  }
  assert.throws(() => stripe.webhooks.constructEvent(body, header, stranger), /No signatures found/);
  assert.throws(() => stripe.webhooks.constructEvent(`${body} `, header, current), /No signatures found/);
  // A signature is for its own timestamp only.
  const old = signatureHeaders({ body, timestamp: now() - 3600, eventId, secrets: [current] });
  assert.throws(
    () => stripe.webhooks.constructEvent(body, old['Stripe-Signature'] as string, current),
    /tolerance/,
  );
});

test('the Standard Webhooks library verifies with each active secret and refuses any other', () => {
  const [current, previous, stranger] = [newSigningSecret(), newSigningSecret(), newSigningSecret()];
  const headers = signatureHeaders({ body, timestamp: now(), eventId, secrets: [current, previous] });
  assert.equal(headers['webhook-signature']?.split(' ').length, 2);
  for (const secret of [current, previous]) {
    const payload = new Webhook(secret).verify(body, headers) as { id: string };
    assert.equal(payload.id, eventId);
  }
  assert.throws(() => new Webhook(stranger).verify(body, headers), /No matching signature/);
  assert.throws(
    () => new Webhook(current).verify(body, { ...headers, 'webhook-id': 'evt_other' }),
    /No matching/,
  );
  const old = signatureHeaders({ body, timestamp: now() - 3600, eventId, secrets: [current] });
  assert.throws(() => new Webhook(current).verify(body, old), /too old/);
});

/** Computed once with openssl, apart from this code; the SDK's tests check the same vectors. */
const VECTORS = {
  body: '{"id":"evt_test","object":"event"}',
  eventId: 'evt_test',
  timestamp: 1713100800,
  secrets: [
    'whsec_BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=',
    'whsec_CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=',
  ],
  stripe: [
    'a3c5d0d76fe5f51c4684ff109042959e4ca3e5425aa116f6600809fcfdd209f6',
    'c16d45ab8bec9f288ed2eeac3adb59763e3494254812637c341c0a1985cf16b4',
  ],
  standard: ['PQ3RC02GD9MfN0p0exPftcEoG525peXnhs0+ByJPjs4=', '8yi7n6T/51ZeLZ0yuQ86IIwRZPzx5huA0TWCj0WUYic='],
};

test('fixed vectors: both algorithms, byte for byte', () => {
  const { body, eventId, timestamp, secrets } = VECTORS;
  for (const secret of secrets) assert.equal(Buffer.from(secret.slice(6), 'base64').length, 32);
  assert.equal(
    stripeSignature(body, timestamp, secrets),
    `t=${timestamp},v1=${VECTORS.stripe[0]},v1=${VECTORS.stripe[1]}`,
  );
  assert.equal(
    standardSignature(eventId, timestamp, body, secrets),
    `v1,${VECTORS.standard[0]} v1,${VECTORS.standard[1]}`,
  );
});
