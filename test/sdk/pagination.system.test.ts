import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  type Customer,
  InvalidRequestError,
  ListPromise,
  type LuniPay,
  type LuniPayOptions,
} from '../../sdk/src/index.js';
import { rejection } from '../../sdk/test/helpers.js';
import { seed, useSdkServer } from './server.js';

/**
 * `customers.list` against the real server: one page when awaited, every page when iterated
 * (forwards with `starting_after`, backwards with `ending_before`), the filters kept on every
 * page, and no request the walk does not need. The proxy counts the requests.
 */

const ids = (cs: { id: string }[]): string[] => cs.map((c) => c.id);
/** Oldest first in, newest first out: the order the API lists in. */
const newestFirst = (cs: { id: string }[]): string[] => ids(cs).reverse();
const queries = (attempts: { query: string }[]) =>
  attempts.map((a) => Object.fromEntries(new URLSearchParams(a.query)));

describe('customers.list pagination', () => {
  const { proxy, account, client, direct } = useSdkServer();

  /** A key with `count` customers, made one after another (oldest first), and a client for it. */
  const seeded = async (count: number, email?: (i: number) => string, options?: LuniPayOptions) => {
    const { key } = await account();
    const customers = await seed(direct(key), count, email);
    proxy.reset();
    return { lunipay: client(key, options), customers };
  };
  /** Walks the whole list, counting the requests it takes. */
  const walk = async (list: AsyncIterable<Customer>) => {
    proxy.reset();
    const seen: string[] = [];
    for await (const c of list) seen.push(c.id);
    return seen;
  };

  it('pages of 3 over c1…c9, both cursors', async () => {
    const { lunipay, customers: c } = await seeded(9); // c[0] = c1 … c[8] = c9
    const first = await lunipay.customers.list({ limit: 3 });
    assert.deepEqual(ids(first.data), ids([c[8], c[7], c[6]] as Customer[]));
    assert.equal(first.has_more, true);
    const older = await lunipay.customers.list({ limit: 3, starting_after: c[6]?.id });
    assert.deepEqual(ids(older.data), ids([c[5], c[4], c[3]] as Customer[]));
    const newer = await lunipay.customers.list({ limit: 3, ending_before: c[4]?.id });
    assert.deepEqual(ids(newer.data), ids([c[7], c[6], c[5]] as Customer[]));
    assert.equal(newer.has_more, true);
  });

  describe('300 customers, every third with a shared email', () => {
    const MANY = 300;
    const stored = 'Shared@Example.com';
    let lunipay: LuniPay;
    let all: Customer[] = []; // oldest first
    let shared: Customer[] = [];
    before(async () => {
      ({ lunipay, customers: all } = await seeded(MANY, (i) => (i % 3 === 0 ? stored : `c${i}@example.com`)));
      shared = all.filter((c) => c.email === stored);
      assert.equal(shared.length, MANY / 3);
    });

    it('for await walks every customer once, newest first, following starting_after, 100 per request', async () => {
      const seen = await walk(lunipay.customers.list({ limit: 100 }));
      assert.deepEqual(seen, newestFirst(all));
      assert.equal(proxy.attempts.length, MANY / 100, 'one request per page, no empty trailing page');
      assert.deepEqual(queries(proxy.attempts), [
        { limit: '100' },
        { limit: '100', starting_after: seen[99] },
        { limit: '100', starting_after: seen[199] },
      ]);
    });

    it('keeps the filters on every page (email, case-insensitive; created)', async () => {
      const seen = await walk(
        lunipay.customers.list({ email: 'shared@example.COM', limit: 30, created: { gte: 0 } }),
      );
      assert.deepEqual(seen, newestFirst(shared));
      assert.equal(proxy.attempts.length, 4);
      for (const q of queries(proxy.attempts)) {
        assert.equal(q.email, 'shared@example.COM');
        assert.equal(q['created[gte]'], '0');
      }
      assert.deepEqual(
        await walk(lunipay.customers.list({ email: stored.toUpperCase(), limit: 7 })),
        newestFirst(shared),
      );
      assert.equal(proxy.attempts.length, Math.ceil(shared.length / 7));
      const since = (all[0] as Customer).created;
      assert.deepEqual(
        await walk(lunipay.customers.list({ limit: 37, created: { gte: since } })),
        newestFirst(all),
      );
    });

    it('backwards from ending_before: the newer ones, oldest to newest, with or without a filter', async () => {
      assert.deepEqual(
        await walk(lunipay.customers.list({ ending_before: all[0]?.id, limit: 40 })),
        ids(all.slice(1)),
      );
      assert.deepEqual(
        await walk(lunipay.customers.list({ email: stored, ending_before: shared[0]?.id, limit: 9 })),
        ids(shared.slice(1)),
      );
    });

    it('toArray stops at max, fetching no page it does not need; breaking out of a walk stops it', async () => {
      proxy.reset();
      const some = await lunipay.customers.list({ limit: 30 }).toArray({ max: 45 });
      assert.deepEqual(ids(some), newestFirst(all).slice(0, 45));
      assert.equal(proxy.attempts.length, 2);
      assert.equal(
        (await lunipay.customers.list({ email: stored, limit: 3 }).toArray({ max: 10 })).length,
        10,
      );
      let n = 0;
      for await (const _ of lunipay.customers.list({ limit: 5 })) if (++n === 7) break;
      assert.equal(n, 7);
    });

    it('is lazy: no request until awaited or iterated; breaking out stops fetching', async () => {
      proxy.reset();
      const list = lunipay.customers.list({ limit: 10 });
      assert.ok(list instanceof ListPromise);
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(proxy.attempts.length, 0);
      let n = 0;
      for await (const _ of list) {
        if (++n === 15) break;
      }
      assert.equal(proxy.attempts.length, 2);
    });
  });

  it('an error on a later page rejects the iteration', async () => {
    const { lunipay } = await seeded(25, undefined, { maxRetries: 0 });
    const it = lunipay.customers.list({ limit: 10 })[Symbol.asyncIterator]();
    for (let i = 0; i < 10; i++) await it.next();
    proxy.failNext(1, {
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

  it('with ending_before walks backwards in time, following ending_before = first id of each page', async () => {
    const { lunipay, customers: c } = await seeded(20);
    const seen = await walk(lunipay.customers.list({ limit: 4, ending_before: c[5]?.id }));
    // everything newer than c6, oldest to newest
    assert.deepEqual(seen, ids(c.slice(6)));
    const cursors = queries(proxy.attempts).map((q) => q.ending_before);
    assert.deepEqual(cursors, [c[5]?.id, c[9]?.id, c[13]?.id, c[17]?.id]);
    for (const q of queries(proxy.attempts)) assert.equal(q.starting_after, undefined);
  });

  it('starts after a given cursor', async () => {
    const { lunipay, customers: c } = await seeded(12);
    assert.deepEqual(
      await walk(lunipay.customers.list({ limit: 5, starting_after: c[10]?.id })),
      newestFirst(c.slice(0, 10)),
    );
  });

  it('awaiting and then iterating the same list fetches page one only once', async () => {
    const { lunipay } = await seeded(15);
    const list = lunipay.customers.list({ limit: 10 });
    const page = await list;
    assert.equal(page, await list);
    let n = 0;
    for await (const _ of list) n++;
    assert.equal(n, 15);
    assert.equal(proxy.attempts.length, 2);
  });

  it('supports .then/.catch/.finally and toArray({ max })', async () => {
    const { lunipay } = await seeded(30);
    assert.equal(await lunipay.customers.list({ limit: 3 }).then((p) => p.data.length), 3);
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
    const lunipay = client((await account()).key);
    assert.deepEqual(await lunipay.customers.list(), {
      object: 'list',
      url: '/v1/customers',
      has_more: false,
      data: [],
    });
    for await (const _ of lunipay.customers.list()) assert.fail('nothing to iterate');
  });
});
