import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type ApiResponse,
  forEachDatabase,
  type RequestOptions,
  useHarness,
} from '../../test/helpers/harness.js';

forEachDatabase('Idempotency-Key: replay, mismatch, scope', (dialect) => {
  const { h, acct } = useHarness(dialect);

  let n = 0;
  const newKey = () => `key-${++n}-${Date.now()}`;
  const send = (method: string, url: string, key: string | undefined, options: RequestOptions = {}) =>
    h.request(method, url, {
      key: acct.test,
      ...options,
      headers: { ...(key === undefined ? {} : { 'idempotency-key': key }), ...(options.headers ?? {}) },
    });
  const countByEmail = async (email: string) =>
    (await h.db.kysely.selectFrom('customers').select('id').where('email', '=', email).execute()).length;
  const replayed = (res: ApiResponse) => res.headers['idempotent-replayed'];
  const create = async (email: string) =>
    (await send('POST', '/v1/customers', undefined, { json: { email } })).body;

  const json = { 'content-type': 'application/json' };
  const text = { 'content-type': 'text/plain' };
  const twenty = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, 'v']));
  const recordCount = async (key: string) =>
    (await h.db.kysely.selectFrom('idempotency_keys').select('key').where('key', '=', key).execute()).length;

  test('POST create: a retry gets the same status and body, replayed, and creates nothing', async () => {
    const key = newKey();
    const body = { email: 'replay@example.com', first_name: 'Ada', metadata: { tier: 'gold' } };
    const first = await send('POST', '/v1/customers', key, { json: body });
    assert.equal(first.status, 200);
    assert.equal(replayed(first), undefined);
    const again = await send('POST', '/v1/customers', key, { json: body });
    assert.equal(again.status, 200);
    assert.equal(again.raw, first.raw);
    assert.equal(replayed(again), 'true');
    assert.match(String(again.headers['request-id']), /^req_/);
    assert.notEqual(again.headers['request-id'], first.headers['request-id']);
    assert.equal(await countByEmail('replay@example.com'), 1);
  });

  test('parameters compare parsed: key order and JSON versus form do not matter', async () => {
    const key = newKey();
    const first = await send('POST', '/v1/customers', key, {
      json: { email: 'form@example.com', metadata: { a: '1', b: '2' }, phone: '' },
    });
    assert.equal(first.status, 200);
    const form = await send('POST', '/v1/customers', key, {
      payload: 'phone=&metadata[b]=2&metadata[a]=1&email=form%40example.com',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(form.status, 200);
    assert.equal(replayed(form), 'true');
    assert.equal(form.raw, first.raw);
    const reordered = await send('POST', '/v1/customers', key, {
      payload: '{"phone":"","metadata":{"b":"2","a":"1"},"email":"form@example.com"}',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(reordered.status, 200);
    assert.equal(replayed(reordered), 'true');
    assert.equal(await countByEmail('form@example.com'), 1);
  });

  test('same key, different parameters, path or method: 400 idempotency_key_reused naming the key', async () => {
    const key = newKey();
    const customer = await create('target@example.com');
    const first = await send('PATCH', `/v1/customers/${customer.id}`, key, { json: { first_name: 'A' } });
    assert.equal(first.status, 200);
    const other = await create('other@example.com');
    const attempts: [string, string, unknown][] = [
      ['PATCH', `/v1/customers/${customer.id}`, { first_name: 'B' }],
      ['PATCH', `/v1/customers/${customer.id}`, { first_name: 'A', last_name: '' }],
      ['PATCH', `/v1/customers/${other.id}`, { first_name: 'A' }],
      ['POST', `/v1/customers/${customer.id}`, { first_name: 'A' }],
      ['POST', '/v1/customers', { email: 'target@example.com' }],
    ];
    for (const [method, url, json] of attempts) {
      const res = await send(method, url, key, { json });
      assert.equal(res.status, 400, `${method} ${url} ${JSON.stringify(json)}`);
      assert.equal(res.body.error.type, 'idempotency_error');
      assert.equal(res.body.error.code, 'idempotency_key_reused');
      assert.ok(res.body.error.message.includes(`'${key}'`), res.body.error.message);
      assert.equal(res.body.error.param, undefined);
    }
    const del = await send('DELETE', `/v1/customers/${customer.id}`, key);
    assert.equal(del.status, 400);
    assert.equal((await send('GET', `/v1/customers/${other.id}`, undefined)).body.first_name, '');
    assert.equal((await send('GET', `/v1/customers/${customer.id}`, undefined)).status, 200);
  });

  test('PATCH and its POST alias replay the first response and change nothing', async () => {
    const customer = await create('patch@example.com');
    for (const method of ['PATCH', 'POST']) {
      const key = newKey();
      const url = `/v1/customers/${customer.id}`;
      const first = await send(method, url, key, { json: { first_name: `First-${method}` } });
      assert.equal(first.status, 200);
      // Changed by someone else meanwhile: the replay must not put the old value back.
      await send('PATCH', url, undefined, { json: { first_name: 'Changed' } });
      const again = await send(method, url, key, { form: { first_name: `First-${method}` } });
      assert.equal(again.status, 200);
      assert.equal(replayed(again), 'true');
      assert.equal(again.raw, first.raw);
      assert.equal((await send('GET', url, undefined)).body.first_name, 'Changed');
    }
  });

  test('DELETE replays its 200 while the customer is gone', async () => {
    const customer = await create('delete@example.com');
    const key = newKey();
    const first = await send('DELETE', `/v1/customers/${customer.id}`, key);
    assert.deepEqual(first.body, { id: customer.id, object: 'customer', deleted: true });
    const again = await send('DELETE', `/v1/customers/${customer.id}`, key);
    assert.equal(again.status, 200);
    assert.equal(replayed(again), 'true');
    assert.equal(again.raw, first.raw);
    assert.equal((await send('DELETE', `/v1/customers/${customer.id}`, newKey())).status, 404);
  });

  test('keys are scoped to the account and the mode', async () => {
    const key = newKey();
    const other = await h.account('Other shop');
    const body = { email: 'scope@example.com' };
    const ids = new Set<string>();
    for (const apiKey of [acct.test, acct.live, other.test, other.live]) {
      const res = await h.request('POST', '/v1/customers', {
        key: apiKey,
        json: body,
        headers: { 'idempotency-key': key },
      });
      assert.equal(res.status, 200);
      assert.equal(replayed(res), undefined);
      ids.add(res.body.id);
    }
    assert.equal(ids.size, 4);
    assert.equal(await countByEmail('scope@example.com'), 4);
  });

  test('requests refused by auth, validation or the service are not recorded: the key still works', async () => {
    const key = newKey();
    const url = '/v1/customers';
    assert.equal((await send('POST', url, key, { key: null, json: { email: 'a@b' } })).status, 401);
    assert.equal((await send('POST', url, key, { key: 'sk_test_nope', json: { email: 'a@b' } })).status, 401);
    assert.equal((await send('POST', url, key, { json: { email: 'not-an-email' } })).status, 400);
    assert.equal((await send('POST', url, key, { json: { nickname: 'x', email: 'a@b' } })).status, 400);
    assert.equal((await send('POST', url, key, { payload: '{"email":', headers: json })).status, 400);
    assert.equal((await send('POST', url, key, { payload: 'x', headers: text })).status, 415);
    // The service refuses these: no such customer, and metadata over the limit after the merge.
    const missing = 'cus_00000000000000000000000000';
    assert.equal((await send('PATCH', `/v1/customers/${missing}`, key, { json: {} })).status, 404);
    const full = await send('POST', url, undefined, {
      json: { email: 'full@example.com', metadata: twenty },
    });
    const over = await send('PATCH', `/v1/customers/${full.body.id}`, key, {
      json: { metadata: { k20: 'x' } },
    });
    assert.equal(over.status, 400);
    assert.equal(over.body.error.param, 'metadata');
    assert.equal(await recordCount(key), 0);

    const ok = await send('POST', url, key, { json: { email: 'works@example.com' } });
    assert.equal(ok.status, 200);
    assert.equal(replayed(ok), undefined);
    assert.equal(await recordCount(key), 1);
  });

  test('malformed keys: 400 parameter_invalid on Idempotency-Key, after auth, before the body', async () => {
    const body = { email: 'badkey@example.com' };
    for (const bad of ['', 'x'.repeat(256), 'tab\tkey', 'caf\u00e9', 'del\u007f']) {
      const res = await send('POST', '/v1/customers', bad, { json: body });
      assert.equal(res.status, 400, JSON.stringify(bad));
      assert.equal(res.body.error.code, 'parameter_invalid');
      assert.equal(res.body.error.param, 'Idempotency-Key');
      for (const [method, url] of [
        ['PATCH', '/v1/customers/cus_x'],
        ['DELETE', '/v1/customers/cus_x'],
      ] as const) {
        assert.equal((await send(method, url, bad)).body.error?.param, 'Idempotency-Key');
      }
    }
    // Auth comes first; the key is checked before the body is.
    assert.equal((await send('POST', '/v1/customers', '', { key: null, json: body })).status, 401);
    const both = await send('POST', '/v1/customers', '', { json: { email: 'nope' } });
    assert.equal(both.body.error.param, 'Idempotency-Key');
    assert.equal(await countByEmail('badkey@example.com'), 0);

    const longest = ' ~'.repeat(127).concat('!');
    assert.equal(longest.length, 255);
    assert.equal((await send('POST', '/v1/customers', longest, { json: body })).status, 200);
    assert.equal(replayed(await send('POST', '/v1/customers', longest, { json: body })), 'true');
  });

  test('GET ignores the header, even a malformed one, and records nothing', async () => {
    const customer = await create('get@example.com');
    const key = newKey();
    const one = await send('GET', `/v1/customers/${customer.id}`, key);
    assert.equal(one.status, 200);
    assert.equal(replayed(one), undefined);
    assert.equal((await send('GET', '/v1/customers', 'caf\u00e9')).status, 200);
    assert.equal(await recordCount(key), 0);
  });

  test('the OpenAPI document declares the header and the idempotency errors on every write', async () => {
    const doc = (await h.request('GET', '/v1/openapi.json', { key: null })).body;
    const writes = [
      ['/v1/customers', 'post'],
      ['/v1/customers/{id}', 'post'],
      ['/v1/customers/{id}', 'patch'],
      ['/v1/customers/{id}', 'delete'],
    ] as const;
    for (const [path, method] of writes) {
      const op = doc.paths[path][method];
      const header = op.parameters.find((p: { in: string; name: string }) => p.in === 'header');
      assert.equal(header?.name, 'Idempotency-Key', `${method} ${path}`);
      assert.equal(header.required, false);
      assert.match(op.responses['400'].description, /idempotency_key_reused/);
      assert.match(op.responses['409'].description, /idempotency_key_in_use/);
      assert.deepEqual(op.responses['200'].headers['Idempotent-Replayed'].schema, {
        type: 'string',
        enum: ['true'],
      });
    }
    const read = doc.paths['/v1/customers/{id}'].get;
    assert.equal(
      (read.parameters ?? []).some((p: { in: string }) => p.in === 'header'),
      false,
    );
  });
});
