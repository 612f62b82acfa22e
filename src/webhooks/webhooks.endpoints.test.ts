import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forEachDatabase, useHarness } from '../../test/helpers/harness.js';
import { loadActiveSecrets } from './webhooks.secrets.js';
import { endpointsForEvent, matchesEvent } from './webhooks.service.js';

const ID = /^we_[0-7][0-9A-HJKMNP-TV-Z]{25}$/;
const SECRET = /^whsec_[A-Za-z0-9+/]{43}=$/;
const URL = 'https://example.com/hooks/lunipay';

forEachDatabase('webhook endpoints', (dialect) => {
  const { h, acct } = useHarness(dialect);

  const create = async (json: Record<string, unknown> = {}, key = acct.test) => {
    const res = await h.request('POST', '/v1/webhook_endpoints', {
      key,
      json: { url: URL, enabled_events: ['customer.*'], ...json },
    });
    assert.equal(res.status, 200, res.raw);
    return res.body;
  };
  const secretsOf = (id: string, now?: number) => loadActiveSecrets(h.db.kysely, h.secretBox, id, now);

  test('create answers the endpoint with its secret, exactly', async () => {
    const before = Math.floor(Date.now() / 1000);
    const res = await h.request('POST', '/v1/webhook_endpoints', {
      key: acct.test,
      json: { url: URL, enabled_events: ['customer.created', 'customer.deleted'], description: 'Orders' },
    });
    assert.equal(res.status, 200, res.raw);
    const { id, created, secret } = res.body;
    assert.match(id, ID);
    assert.match(secret, SECRET);
    assert.equal(Buffer.from(secret.slice(6), 'base64').length, 32);
    assert.ok(created >= before && created <= Math.floor(Date.now() / 1000) + 1);
    assert.equal(
      res.raw,
      JSON.stringify({
        id,
        object: 'webhook_endpoint',
        url: URL,
        enabled_events: ['customer.created', 'customer.deleted'],
        status: 'enabled',
        description: 'Orders',
        metadata: null,
        api_version: '2026-12-01',
        livemode: false,
        created,
        secret,
      }),
    );
    assert.deepEqual(await secretsOf(id), [secret]);
  });

  test('retrieve and list show the endpoint, never its secret', async () => {
    const e = await create({ metadata: { team: 'billing' } });
    const { secret, ...shown } = e;
    const got = await h.request('GET', `/v1/webhook_endpoints/${e.id}`, { key: acct.test });
    assert.equal(got.status, 200);
    assert.deepEqual(got.body, shown);
    assert.ok(!got.raw.includes(secret) && !got.raw.includes('secret'));
    const list = await h.request('GET', '/v1/webhook_endpoints', { key: acct.test });
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.data[0], shown);
    assert.equal(list.body.object, 'list');
    assert.equal(list.body.url, '/v1/webhook_endpoints');
    assert.ok(!list.raw.includes('secret'));
    assert.equal(e.api_version, '2026-12-01');
    assert.deepEqual(e.metadata, { team: 'billing' });
  });

  test('update changes any subset; disabled flips the status; the secret is not shown', async () => {
    const e = await create({ metadata: { a: '1', b: '2' }, description: 'old' });
    const { secret, ...shown } = e;
    for (const method of ['PATCH', 'POST']) {
      const res = await h.request(method, `/v1/webhook_endpoints/${e.id}`, { key: acct.test, json: {} });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, shown, 'an empty body changes nothing');
    }
    const res = await h.request('PATCH', `/v1/webhook_endpoints/${e.id}`, {
      key: acct.test,
      json: {
        url: 'https://example.org/other',
        enabled_events: ['*', '*'],
        description: '',
        metadata: { a: null, c: '3' },
        disabled: true,
      },
    });
    assert.equal(res.status, 200, res.raw);
    const expected = {
      ...shown,
      url: 'https://example.org/other',
      enabled_events: ['*'],
      description: null,
      metadata: { b: '2', c: '3' },
      status: 'disabled',
    };
    assert.equal(res.raw, JSON.stringify(expected));
    assert.deepEqual(
      (await h.request('GET', `/v1/webhook_endpoints/${e.id}`, { key: acct.test })).body,
      expected,
    );
    const enabled = await h.request('POST', `/v1/webhook_endpoints/${e.id}`, {
      key: acct.test,
      form: { disabled: 'false', enabled_events: ['customer.updated', 'customer.created'] },
    });
    assert.equal(enabled.status, 200, enabled.raw);
    assert.equal(enabled.body.status, 'enabled');
    assert.deepEqual(enabled.body.enabled_events, ['customer.updated', 'customer.created']);
    assert.deepEqual(await secretsOf(e.id), [secret], 'updates leave the secret alone');
  });

  test('forms: lists as name[0]=…, name[]=… or name=…; booleans and integers from their text', async () => {
    for (const payload of [
      'url=https%3A%2F%2Fexample.com%2Fa&enabled_events[0]=customer.created&enabled_events[1]=customer.updated',
      'url=https%3A%2F%2Fexample.com%2Fa&enabled_events[]=customer.created&enabled_events[]=customer.updated',
      'url=https%3A%2F%2Fexample.com%2Fa&enabled_events=customer.created&enabled_events=customer.updated',
    ]) {
      const res = await h.request('POST', '/v1/webhook_endpoints', {
        key: acct.test,
        payload,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      assert.equal(res.status, 200, `${payload}: ${res.raw}`);
      assert.deepEqual(res.body.enabled_events, ['customer.created', 'customer.updated']);
    }
    const one = await h.request('POST', '/v1/webhook_endpoints', {
      key: acct.test,
      form: { url: URL, enabled_events: '*', metadata: { k: 'v' } },
    });
    assert.equal(one.status, 200, one.raw);
    assert.deepEqual(one.body.enabled_events, ['*']);
    const rolled = await h.request('POST', `/v1/webhook_endpoints/${one.body.id}/roll_secret`, {
      key: acct.test,
      form: { expires_in: '0' },
    });
    assert.equal(rolled.status, 200, rolled.raw);
    assert.deepEqual(await secretsOf(one.body.id), [rolled.body.secret]);
  });

  test('delete answers the receipt; then every route answers 404', async () => {
    const e = await create();
    const res = await h.request('DELETE', `/v1/webhook_endpoints/${e.id}`, { key: acct.test });
    assert.equal(res.status, 200);
    assert.equal(res.raw, JSON.stringify({ id: e.id, object: 'webhook_endpoint', deleted: true }));
    const missing = {
      error: {
        type: 'invalid_request_error',
        code: 'resource_missing',
        message: `No such webhook endpoint: '${e.id}'.`,
        param: 'id',
      },
    };
    for (const [method, url] of [
      ['GET', `/v1/webhook_endpoints/${e.id}`],
      ['PATCH', `/v1/webhook_endpoints/${e.id}`],
      ['POST', `/v1/webhook_endpoints/${e.id}`],
      ['DELETE', `/v1/webhook_endpoints/${e.id}`],
      ['POST', `/v1/webhook_endpoints/${e.id}/roll_secret`],
    ] as const) {
      const gone = await h.request(method, url, {
        key: acct.test,
        ...(method === 'GET' ? {} : { json: {} }),
      });
      assert.equal(gone.status, 404, `${method} ${url}`);
      assert.deepEqual(gone.body, missing);
    }
    const list = await h.request('GET', '/v1/webhook_endpoints', { key: acct.test, query: { limit: 100 } });
    assert.ok(!list.body.data.some((x: { id: string }) => x.id === e.id));
    assert.deepEqual(await secretsOf(e.id), [], 'its secrets are gone too');
  });

  test('roll_secret: a new secret; the old one signs beside it until it expires', async () => {
    const e = await create();
    const start = Date.now();
    const res = await h.request('POST', `/v1/webhook_endpoints/${e.id}/roll_secret`, {
      key: acct.test,
      json: { expires_in: 3600 },
    });
    assert.equal(res.status, 200, res.raw);
    const { secret, ...rest } = res.body;
    const { secret: old, ...shown } = e;
    assert.deepEqual(rest, shown);
    assert.match(secret, SECRET);
    assert.notEqual(secret, old);
    assert.deepEqual(await secretsOf(e.id), [secret, old], 'both sign, newest first');
    assert.deepEqual(await secretsOf(e.id, start + 3_599_000), [secret, old]);
    assert.deepEqual(await secretsOf(e.id, Date.now() + 3_600_001), [secret], 'the old one has expired');
    // A second roll caps what still signs: with 0, only the newest secret is left at once.
    const again = await h.request('POST', `/v1/webhook_endpoints/${e.id}/roll_secret`, {
      key: acct.test,
      json: { expires_in: 0 },
    });
    assert.equal(again.status, 200);
    assert.deepEqual(await secretsOf(e.id), [again.body.secret]);
    // Without a body: the default, one day.
    const third = await h.request('POST', `/v1/webhook_endpoints/${e.id}/roll_secret`, { key: acct.test });
    assert.equal(third.status, 200, third.raw);
    assert.deepEqual(await secretsOf(e.id, Date.now() + 86_000_000), [third.body.secret, again.body.secret]);
    assert.deepEqual(await secretsOf(e.id, Date.now() + 86_400_001), [third.body.secret]);
  });

  test('an idempotent create replays its answer, secret included, and creates one endpoint', async () => {
    const headers = { 'idempotency-key': `create-${Math.random()}` };
    const json = { url: URL, enabled_events: ['customer.*'] };
    const first = await h.request('POST', '/v1/webhook_endpoints', { key: acct.test, json, headers });
    const second = await h.request('POST', '/v1/webhook_endpoints', { key: acct.test, json, headers });
    assert.equal(first.status, 200);
    assert.equal(second.status, 200);
    assert.equal(second.headers['idempotent-replayed'], 'true');
    assert.equal(second.raw, first.raw);
    const rows = await h.db.kysely
      .selectFrom('webhook_endpoints')
      .select('id')
      .where('id', '=', first.body.id)
      .execute();
    assert.equal(rows.length, 1);
    const stored = await h.db.kysely
      .selectFrom('idempotency_keys')
      .selectAll()
      .where('key', '=', headers['idempotency-key'])
      .executeTakeFirstOrThrow();
    assert.ok(
      !JSON.stringify(stored).includes(first.body.secret),
      'the stored answer holds the secret sealed',
    );
    const other = await h.request('POST', '/v1/webhook_endpoints', {
      key: acct.test,
      json: { ...json, description: 'x' },
      headers,
    });
    assert.equal(other.status, 400);
    assert.equal(other.body.error.code, 'idempotency_key_reused');
    // A replayed roll shows the secret it made, which still signs.
    const rollHeaders = { 'idempotency-key': `roll-${Math.random()}` };
    const url = `/v1/webhook_endpoints/${first.body.id}/roll_secret`;
    const roll = await h.request('POST', url, { key: acct.test, json: {}, headers: rollHeaders });
    const replay = await h.request('POST', url, { key: acct.test, json: {}, headers: rollHeaders });
    assert.equal(replay.raw, roll.raw);
    assert.equal(replay.headers['idempotent-replayed'], 'true');
    assert.deepEqual(await secretsOf(first.body.id), [roll.body.secret, first.body.secret]);
  });

  test('lists are newest first, with limit and either cursor', async () => {
    const other = await h.account('Lister');
    const made: string[] = [];
    for (let i = 0; i < 7; i++) made.push((await create({}, other.test)).id);
    const ids = async (query: Record<string, unknown>) => {
      const res = await h.request('GET', '/v1/webhook_endpoints', { key: other.test, query });
      assert.equal(res.status, 200, res.raw);
      return { ids: res.body.data.map((x: { id: string }) => x.id), more: res.body.has_more };
    };
    const [e1, e2, e3, e4, e5, e6, e7] = made;
    assert.deepEqual(await ids({}), { ids: [e7, e6, e5, e4, e3, e2, e1], more: false });
    assert.deepEqual(await ids({ limit: 3 }), { ids: [e7, e6, e5], more: true });
    assert.deepEqual(await ids({ limit: 3, starting_after: e5 }), { ids: [e4, e3, e2], more: true });
    assert.deepEqual(await ids({ limit: 3, starting_after: e2 }), { ids: [e1], more: false });
    assert.deepEqual(await ids({ limit: 3, ending_before: e3 }), { ids: [e6, e5, e4], more: true });
    assert.deepEqual(await ids({ limit: 3, ending_before: e5 }), { ids: [e7, e6], more: false });
    assert.deepEqual(await ids({ limit: 2, starting_after: e7, ending_before: undefined }), {
      ids: [e6, e5],
      more: true,
    });
  });

  test('endpointsForEvent: the enabled endpoints of the account and mode whose enabled_events match', async () => {
    const owner = await h.account('Matcher');
    const made = async (events: string[], key = owner.test) =>
      (await create({ enabled_events: events }, key)).id;
    const all = await made(['*']);
    const customers = await made(['customer.*']);
    const created = await made(['customer.created']);
    const updated = await made(['customer.updated', 'customer.deleted']);
    const disabled = await made(['*']);
    await h.request('PATCH', `/v1/webhook_endpoints/${disabled}`, {
      key: owner.test,
      json: { disabled: true },
    });
    await made(['*'], owner.live);
    const ids = async (type: string) =>
      (await endpointsForEvent(h.db.kysely, { accountId: owner.id, mode: 'test' }, type)).map((e) => e.id);
    assert.deepEqual(await ids('customer.created'), [all, customers, created]);
    assert.deepEqual(await ids('customer.updated'), [all, customers, updated]);
    assert.deepEqual(await ids('customer.deleted'), [all, customers, updated]);
    assert.equal(matchesEvent(['customer.*'], 'customerx.created'), false);
    assert.equal(matchesEvent(['customer.*'], 'invoice.paid'), false);
    assert.equal(matchesEvent(['*'], 'invoice.paid'), true);
  });
});
