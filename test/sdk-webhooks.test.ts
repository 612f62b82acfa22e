/**
 * The SDK's webhook endpoints and webhook verification against the real API (in process, on a
 * port): every method, autopagination, errors, and deliveries signed by the server's own
 * signing function verified by the SDK in both schemes, mid-roll.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InvalidRequestError, LuniPay, WebhookVerificationError } from '../sdk/src/index.js';
import { loadActiveSecrets } from '../src/webhooks/webhooks.secrets.js';
import { signatureHeaders } from '../src/webhooks/webhooks.signing.js';
import { type Harness, startHarness } from './helpers/harness.js';

let h: Harness;
let lunipay: LuniPay;
before(async () => {
  h = await startHarness('sqlite');
  const baseUrl = await h.app.listen({ host: '127.0.0.1', port: 0 });
  lunipay = new LuniPay((await h.account()).test, { baseUrl });
});
after(() => h.close());

describe('the SDK and webhook endpoints', () => {
  it('create, retrieve, update, list, rollSecret and del', async () => {
    const created = await lunipay.webhookEndpoints.create({
      url: 'https://example.com/hooks',
      enabled_events: ['customer.created'],
      metadata: { team: 'billing' },
    });
    assert.match(created.secret, /^whsec_/);
    const { secret, ...shown } = created;
    assert.deepEqual(await lunipay.webhookEndpoints.retrieve(created.id), shown);
    const updated = await lunipay.webhookEndpoints.update(created.id, {
      disabled: true,
      description: 'Orders',
    });
    assert.equal(updated.status, 'disabled');
    assert.equal(updated.description, 'Orders');
    const rolled = await lunipay.webhookEndpoints.rollSecret(created.id, { expires_in: 60 });
    assert.notEqual(rolled.secret, secret);
    assert.deepEqual(await loadActiveSecrets(h.db.kysely, h.secretBox, created.id), [rolled.secret, secret]);
    assert.deepEqual(await lunipay.webhookEndpoints.del(created.id), {
      id: created.id,
      object: 'webhook_endpoint',
      deleted: true,
    });
    const error = await lunipay.webhookEndpoints.retrieve(created.id).catch((e: unknown) => e);
    assert.ok(error instanceof InvalidRequestError);
    assert.equal(error.code, 'resource_missing');
  });

  it('list walks every endpoint, newest first, and a 17th is limit_exceeded', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 16; i++) {
      ids.unshift(
        (await lunipay.webhookEndpoints.create({ url: `https://example.com/${i}`, enabled_events: ['*'] }))
          .id,
      );
    }
    const walked: string[] = [];
    for await (const e of lunipay.webhookEndpoints.list({ limit: 5 })) walked.push(e.id);
    assert.deepEqual(walked, ids);
    const error = await lunipay.webhookEndpoints
      .create({ url: 'https://example.com/17', enabled_events: ['*'] })
      .catch((e: unknown) => e);
    assert.ok(error instanceof InvalidRequestError);
    assert.equal(error.code, 'limit_exceeded');
  });

  it('verifies what the server signs, in either scheme, with each active secret', async () => {
    const other = new LuniPay((await h.account('Verifier')).test, { baseUrl: lunipay.baseUrl });
    const created = await other.webhookEndpoints.create({
      url: 'https://example.com/v',
      enabled_events: ['*'],
    });
    const rolled = await other.webhookEndpoints.rollSecret(created.id);
    const secrets = await loadActiveSecrets(h.db.kysely, h.secretBox, created.id);
    const body = JSON.stringify({
      id: 'evt_01JRZK2Q4T9ZS0VCNA3HX7W9EY',
      object: 'event',
      type: 'customer.created',
    });
    const headers = signatureHeaders({
      body,
      timestamp: Math.floor(Date.now() / 1000),
      eventId: 'evt_01JRZK2Q4T9ZS0VCNA3HX7W9EY',
      secrets,
    });
    const stripeOnly = { 'Stripe-Signature': headers['Stripe-Signature'] as string };
    const { 'Stripe-Signature': _, ...standardOnly } = headers;
    for (const secret of [created.secret, rolled.secret]) {
      for (const given of [headers, stripeOnly, standardOnly]) {
        const event = await LuniPay.webhooks.verify(body, given, secret);
        assert.equal(event.id, 'evt_01JRZK2Q4T9ZS0VCNA3HX7W9EY');
      }
    }
    const stranger = (
      await other.webhookEndpoints.create({ url: 'https://example.com/s', enabled_events: ['*'] })
    ).secret;
    await assert.rejects(LuniPay.webhooks.verify(body, headers, stranger), WebhookVerificationError);
  });
});
