import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import LuniPayDefault, { DEFAULT_BASE_URL, LuniPay } from '../src/index.js';
import { startCanned } from './canned.js';
import type { FaultyServer } from './fault-server.js';
import { clientFor, KEY } from './helpers.js';

let server: FaultyServer;
before(async () => {
  server = await startCanned();
});
after(() => server.close());

describe('new LuniPay(key, options)', () => {
  it('is also the default export', () => {
    assert.equal(LuniPayDefault, LuniPay);
  });

  it('rejects a missing or blank key and bad options with a TypeError', () => {
    assert.throws(() => new LuniPay(''), TypeError);
    assert.throws(() => new LuniPay('   '), TypeError);
    assert.throws(() => new LuniPay(undefined as unknown as string), TypeError);
    assert.throws(() => new LuniPay('sk_test_a b'), TypeError);
    assert.throws(() => new LuniPay('sk_test_x', { baseUrl: 'not a url' }), TypeError);
    assert.throws(() => new LuniPay('sk_test_x', { baseUrl: 'ftp://example.com' }), TypeError);
    assert.throws(() => new LuniPay('sk_test_x', { baseUrl: 'http://example.com?x=1' }), TypeError);
    assert.throws(() => new LuniPay('sk_test_x', { maxRetries: -1 }), TypeError);
    assert.throws(() => new LuniPay('sk_test_x', { maxRetries: 1.5 }), TypeError);
    assert.throws(() => new LuniPay('sk_test_x', { timeoutMs: Number.NaN }), TypeError);
  });

  it('normalises baseUrl: default, trailing slash, trailing /v1, path prefix kept', () => {
    assert.equal(new LuniPay('sk_test_x').baseUrl, DEFAULT_BASE_URL);
    assert.equal(new LuniPay('sk_test_x', { baseUrl: 'http://h:1/' }).baseUrl, 'http://h:1');
    assert.equal(new LuniPay('sk_test_x', { baseUrl: 'http://h:1/v1/' }).baseUrl, 'http://h:1');
    assert.equal(new LuniPay('sk_test_x', { baseUrl: 'https://h/lunipay/' }).baseUrl, 'https://h/lunipay');
  });

  it('sends Bearer auth, Accept JSON, and JSON bodies with Content-Type', async () => {
    server.reset();
    const key = KEY;
    const lunipay = clientFor(server, key);
    await lunipay.customers.create({ email: 'a@example.com', metadata: { k: 'v' } });
    await lunipay.customers.list({ limit: 1 });
    const [create, list] = server.attempts;
    assert.equal(create?.authorization, `Bearer ${key}`);
    assert.equal(create?.accept, 'application/json');
    assert.equal(create?.contentType, 'application/json');
    assert.deepEqual(JSON.parse(create?.body ?? ''), { email: 'a@example.com', metadata: { k: 'v' } });
    assert.equal(list?.authorization, `Bearer ${key}`);
    assert.equal(list?.contentType, undefined, 'a GET carries no body and no Content-Type');
    assert.equal(list?.body, '');
  });

  it('uses the fetch it is given, called as a plain function', async () => {
    const calls: string[] = [];
    const lunipay = new LuniPay(KEY, {
      baseUrl: server.url,
      fetch: function (this: unknown, url, init) {
        assert.equal(this, undefined);
        calls.push(`${init.method} ${url}`);
        return fetch(url, init);
      },
    });
    await lunipay.customers.list();
    assert.deepEqual(calls, [`GET ${server.url}/v1/customers`]);
  });

  it('works through a base URL with a path prefix', async () => {
    const seen: string[] = [];
    const lunipay = new LuniPay(KEY, {
      baseUrl: `${server.url}/prefix/v1`,
      fetch: (url, init) => {
        seen.push(url);
        return fetch(url.replace('/prefix', ''), init);
      },
    });
    const page = await lunipay.customers.list({ limit: 2 });
    assert.equal(page.object, 'list');
    assert.deepEqual(seen, [`${server.url}/prefix/v1/customers?limit=2`]);
  });
});
