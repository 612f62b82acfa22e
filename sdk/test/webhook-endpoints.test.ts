import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type FetchLike, InvalidRequestError, LuniPay, type WebhookEndpoint } from '../src/index.js';
import { rejection } from './helpers.js';

/**
 * `lunipay.webhookEndpoints` against a fetch that records each request and answers from a
 * script: the method, path, query and body of every call, and autopagination. (The SDK against
 * the real server: test/sdk-webhooks.test.ts in the root.)
 */

interface Sent {
  method: string;
  url: URL;
  body: unknown;
  idempotencyKey: string | undefined;
}

function scripted(answers: ((sent: Sent) => { status?: number; body: unknown })[]) {
  const sent: Sent[] = [];
  const fetch: FetchLike = async (url, init) => {
    const request: Sent = {
      method: init.method,
      url: new URL(url),
      body: init.body === undefined ? undefined : JSON.parse(init.body),
      idempotencyKey: init.headers['Idempotency-Key'],
    };
    sent.push(request);
    const answer = answers[sent.length - 1];
    if (!answer) throw new Error(`unexpected request ${init.method} ${url}`);
    const { status = 200, body } = answer(request);
    const text = JSON.stringify(body);
    return {
      status,
      headers: new Headers({ 'content-type': 'application/json', 'request-id': 'req_1' }),
      text: async () => text,
    };
  };
  return { sent, lunipay: new LuniPay('sk_test_x', { baseUrl: 'http://api.test', fetch, maxRetries: 0 }) };
}

const endpoint = (id: string): WebhookEndpoint => ({
  id,
  object: 'webhook_endpoint',
  url: 'https://example.com/hooks',
  enabled_events: ['customer.*'],
  status: 'enabled',
  description: null,
  metadata: null,
  api_version: '2026-12-01',
  livemode: false,
  created: 1713100800,
});
const ID = 'we_01JRZK2Q4T9ZS0VCNA3HX7W9EY';

describe('webhookEndpoints', () => {
  it('create, retrieve, update, del and rollSecret send the right requests', async () => {
    const withSecret = { ...endpoint(ID), secret: 'whsec_x' };
    const { sent, lunipay } = scripted([
      () => ({ body: withSecret }),
      () => ({ body: endpoint(ID) }),
      () => ({ body: { ...endpoint(ID), status: 'disabled' } }),
      () => ({ body: withSecret }),
      () => ({ body: withSecret }),
      () => ({ body: { id: ID, object: 'webhook_endpoint', deleted: true } }),
    ]);
    const created = await lunipay.webhookEndpoints.create({
      url: 'https://example.com/hooks',
      enabled_events: ['customer.*'],
    });
    assert.equal(created.secret, 'whsec_x');
    assert.deepEqual(await lunipay.webhookEndpoints.retrieve(ID), endpoint(ID));
    assert.equal((await lunipay.webhookEndpoints.update(ID, { disabled: true })).status, 'disabled');
    assert.equal((await lunipay.webhookEndpoints.rollSecret(ID, { expires_in: 60 })).secret, 'whsec_x');
    await lunipay.webhookEndpoints.rollSecret(ID);
    assert.equal((await lunipay.webhookEndpoints.del(ID)).deleted, true);
    assert.deepEqual(
      sent.map((s) => [s.method, s.url.pathname, s.body]),
      [
        [
          'POST',
          '/v1/webhook_endpoints',
          { url: 'https://example.com/hooks', enabled_events: ['customer.*'] },
        ],
        ['GET', `/v1/webhook_endpoints/${ID}`, undefined],
        ['PATCH', `/v1/webhook_endpoints/${ID}`, { disabled: true }],
        ['POST', `/v1/webhook_endpoints/${ID}/roll_secret`, { expires_in: 60 }],
        ['POST', `/v1/webhook_endpoints/${ID}/roll_secret`, {}],
        ['DELETE', `/v1/webhook_endpoints/${ID}`, undefined],
      ],
    );
    // Every write carries an Idempotency-Key, so the SDK's retries never create two endpoints.
    for (const s of sent) assert.equal(s.idempotencyKey === undefined, s.method === 'GET');
  });

  it('list: one page when awaited, every endpoint when iterated', async () => {
    const ids = Array.from({ length: 5 }, (_, i) => `we_01JRZK2Q4T9ZS0VCNA3HX7W9E${i}`).reverse();
    const page = (data: string[], more: boolean) => () => ({
      body: { object: 'list', url: '/v1/webhook_endpoints', has_more: more, data: data.map(endpoint) },
    });
    const { sent, lunipay } = scripted([
      page(ids.slice(0, 2), true),
      page(ids.slice(2, 4), true),
      page(ids.slice(4), false),
    ]);
    const all: string[] = [];
    for await (const e of lunipay.webhookEndpoints.list({ limit: 2 })) all.push(e.id);
    assert.deepEqual(all, ids);
    assert.deepEqual(
      sent.map((s) => s.url.search),
      ['?limit=2', `?limit=2&starting_after=${ids[1]}`, `?limit=2&starting_after=${ids[3]}`],
    );
  });

  it('errors are the SDK’s error classes; a bad id never reaches the network', async () => {
    const { sent, lunipay } = scripted([
      () => ({
        status: 400,
        body: { error: { type: 'invalid_request_error', code: 'limit_exceeded', message: 'At most 16.' } },
      }),
    ]);
    const error = await rejection(
      lunipay.webhookEndpoints.create({ url: 'https://x.test', enabled_events: ['*'] }),
    );
    assert.ok(error instanceof InvalidRequestError);
    assert.equal(error.code, 'limit_exceeded');
    for (const id of ['', '.', '..']) await assert.rejects(lunipay.webhookEndpoints.retrieve(id), TypeError);
    assert.equal(sent.length, 1);
  });
});
