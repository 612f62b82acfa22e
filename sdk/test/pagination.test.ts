import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Customer, InvalidRequestError, ListPromise } from '../src/index.js';
import type { FaultyServer } from './fault-server.js';
import { clientFor, rejection } from './helpers.js';
import { freshKey, type StubApi, startStub } from './stub-server.js';

let server: FaultyServer;
let api: StubApi;
before(async () => {
  ({ server, api } = await startStub());
});
after(() => server.close());

const ids = (cs: { id: string }[]): string[] => cs.map((c) => c.id);
const newestFirst = (cs: { id: string }[]): string[] => ids(cs).reverse();

describe('customers.list pagination', () => {
  it('matches the contract example: c1…c9, limit=3, both cursors', async () => {
    const key = freshKey();
    const c = api.seed(key, 9); // c[0] = c1 … c[8] = c9
    const lunipay = clientFor(server, key);
    const first = await lunipay.customers.list({ limit: 3 });
    assert.deepEqual(ids(first.data), ids([c[8], c[7], c[6]] as Customer[]));
    assert.equal(first.has_more, true);
    const older = await lunipay.customers.list({ limit: 3, starting_after: c[6]?.id });
    assert.deepEqual(ids(older.data), ids([c[5], c[4], c[3]] as Customer[]));
    const newer = await lunipay.customers.list({ limit: 3, ending_before: c[4]?.id });
    assert.deepEqual(ids(newer.data), ids([c[7], c[6], c[5]] as Customer[]));
    assert.equal(newer.has_more, true);
  });

  it('for await walks every customer, newest first, following starting_after, 100 per request', async () => {
    const key = freshKey();
    const seeded = api.seed(key, 250);
    const lunipay = clientFor(server, key);
    server.reset();
    const seen: string[] = [];
    for await (const customer of lunipay.customers.list({ limit: 100 })) seen.push(customer.id);
    assert.deepEqual(seen, newestFirst(seeded));
    assert.equal(server.attempts.length, 3);
    const queries = server.attempts.map((a) => Object.fromEntries(new URLSearchParams(a.query)));
    assert.deepEqual(queries[0], { limit: '100' });
    assert.deepEqual(queries[1], { limit: '100', starting_after: seen[99] });
    assert.deepEqual(queries[2], { limit: '100', starting_after: seen[199] });
  });

  it('keeps the filters on every page (email, case-insensitive; created)', async () => {
    const key = freshKey();
    const seeded = api.seed(key, 300, (i) => ({
      email: i % 3 === 0 ? 'Shared@Example.com' : `other${i}@example.com`,
    }));
    const lunipay = clientFor(server, key);
    server.reset();
    const got: Customer[] = [];
    for await (const c of lunipay.customers.list({
      email: 'shared@example.COM',
      limit: 30,
      created: { gte: 0 },
    }))
      got.push(c);
    assert.deepEqual(ids(got), newestFirst(seeded.filter((_, i) => i % 3 === 0)));
    assert.equal(server.attempts.length, 4);
    for (const a of server.attempts) {
      const q = new URLSearchParams(a.query);
      assert.equal(q.get('email'), 'shared@example.COM');
      assert.equal(q.get('created[gte]'), '0');
    }
  });

  it('with ending_before walks backwards in time, following ending_before = first id of each page', async () => {
    const key = freshKey();
    const c = api.seed(key, 20);
    const lunipay = clientFor(server, key);
    server.reset();
    const seen: string[] = [];
    for await (const customer of lunipay.customers.list({ limit: 4, ending_before: c[5]?.id }))
      seen.push(customer.id);
    // everything newer than c6, oldest to newest
    assert.deepEqual(seen, ids(c.slice(6)));
    const cursors = server.attempts.map((a) => new URLSearchParams(a.query).get('ending_before'));
    assert.deepEqual(cursors, [c[5]?.id, c[9]?.id, c[13]?.id, c[17]?.id]);
    for (const a of server.attempts) assert.equal(new URLSearchParams(a.query).get('starting_after'), null);
  });

  it('starts after a given cursor', async () => {
    const key = freshKey();
    const c = api.seed(key, 12);
    const lunipay = clientFor(server, key);
    const seen: string[] = [];
    for await (const customer of lunipay.customers.list({ limit: 5, starting_after: c[10]?.id }))
      seen.push(customer.id);
    assert.deepEqual(seen, newestFirst(c.slice(0, 10)));
  });

  it('is lazy: no request until awaited or iterated; breaking out stops fetching', async () => {
    const key = freshKey();
    api.seed(key, 50);
    const lunipay = clientFor(server, key);
    server.reset();
    const list = lunipay.customers.list({ limit: 10 });
    assert.ok(list instanceof ListPromise);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(server.attempts.length, 0);
    let n = 0;
    for await (const _ of list) {
      if (++n === 15) break;
    }
    assert.equal(server.attempts.length, 2);
  });

  it('awaiting and then iterating the same list fetches page one only once', async () => {
    const key = freshKey();
    api.seed(key, 15);
    const lunipay = clientFor(server, key);
    server.reset();
    const list = lunipay.customers.list({ limit: 10 });
    const page = await list;
    const again = await list;
    assert.equal(page, again);
    let n = 0;
    for await (const _ of list) n++;
    assert.equal(n, 15);
    assert.equal(server.attempts.length, 2);
  });

  it('supports .then/.catch/.finally and toArray({ max })', async () => {
    const key = freshKey();
    api.seed(key, 30);
    const lunipay = clientFor(server, key);
    const count = await lunipay.customers.list({ limit: 3 }).then((p) => p.data.length);
    assert.equal(count, 3);
    let finalised = false;
    await lunipay.customers.list().finally(() => {
      finalised = true;
    });
    assert.ok(finalised);
    const err = await lunipay.customers.list({ limit: 1000 }).catch((e: unknown) => e);
    assert.ok(err instanceof InvalidRequestError);
    assert.equal(err.param, 'limit');
    assert.equal((await lunipay.customers.list({ limit: 7 }).toArray({ max: 20 })).length, 20);
    assert.equal((await lunipay.customers.list({ limit: 7 }).toArray({ max: 1000 })).length, 30);
    assert.equal(Object.prototype.toString.call(lunipay.customers.list()), '[object ListPromise]');
  });

  it('an empty account gives an empty page and an empty iteration', async () => {
    const lunipay = clientFor(server, freshKey());
    const page = await lunipay.customers.list();
    assert.deepEqual(page, { object: 'list', url: '/v1/customers', has_more: false, data: [] });
    for await (const _ of lunipay.customers.list()) assert.fail('nothing to iterate');
  });

  it('stops if a page says has_more but is empty (no infinite loop)', async () => {
    let calls = 0;
    const list = new ListPromise<{ id: string }>(async () => {
      calls++;
      return { object: 'list', url: '/v1/x', has_more: true, data: [] };
    }, {});
    for await (const _ of list) assert.fail('no items');
    assert.equal(calls, 1);
  });

  it('an error on a later page rejects the iteration', async () => {
    const key = freshKey();
    api.seed(key, 25);
    const lunipay = clientFor(server, key, { maxRetries: 0 });
    server.reset();
    const it = lunipay.customers.list({ limit: 10 })[Symbol.asyncIterator]();
    for (let i = 0; i < 10; i++) await it.next();
    server.failNext(1, {
      kind: 'status',
      status: 400,
      body: {
        error: {
          type: 'invalid_request_error',
          code: 'parameter_invalid',
          message: 'x',
          param: 'starting_after',
        },
      },
    });
    const err = await rejection(it.next());
    assert.ok(err instanceof InvalidRequestError);
    assert.equal(err.param, 'starting_after');
  });

  it('both cursors at once → parameters_exclusive from the API', async () => {
    const lunipay = clientFor(server, freshKey());
    const id = 'cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY';
    const err = await rejection(lunipay.customers.list({ starting_after: id, ending_before: id }));
    assert.ok(err instanceof InvalidRequestError);
    assert.equal(err.code, 'parameters_exclusive');
  });
});
