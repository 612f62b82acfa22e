import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forEachDatabase, type TestAccount, useHarness } from '../../test/helpers/harness.js';

type Page = {
  object: string;
  url: string;
  has_more: boolean;
  data: { id: string; email: string; created: number }[];
};

forEachDatabase('GET /v1/customers', (dialect) => {
  const { h } = useHarness(dialect);
  let acct: TestAccount;

  const list = async (query: Record<string, unknown>, key = acct.test) => {
    const res = await h.request<Page>('GET', '/v1/customers', { key, query });
    assert.equal(res.status, 200, res.raw);
    return res.body;
  };
  const createMany = async (n: number, email = (i: number) => `c${i}@example.com`) => {
    const ids: string[] = [];
    for (let i = 1; i <= n; i++) {
      ids.push(
        (await h.request('POST', '/v1/customers', { key: acct.test, json: { email: email(i) } })).body.id,
      );
    }
    return ids;
  };
  const ids = (page: Page) => page.data.map((c) => c.id);

  test('pages of 3 over nine customers, with both cursors: c1…c9', async () => {
    acct = await h.account('example');
    const c = [undefined, ...(await createMany(9))] as string[];
    const first = await list({ limit: 3 });
    assert.deepEqual(first.object, 'list');
    assert.deepEqual(first.url, '/v1/customers');
    assert.deepEqual(ids(first), [c[9], c[8], c[7]]);
    assert.equal(first.has_more, true);
    const next = await list({ limit: 3, starting_after: c[7] });
    assert.deepEqual(ids(next), [c[6], c[5], c[4]]);
    assert.equal(next.has_more, true);
    const before = await list({ limit: 3, ending_before: c[5] });
    assert.deepEqual(ids(before), [c[8], c[7], c[6]]);
    assert.equal(before.has_more, true);
    const top = await list({ limit: 3, ending_before: c[4] });
    assert.deepEqual(ids(top), [c[7], c[6], c[5]]);
    const last = await list({ limit: 3, starting_after: c[3] });
    assert.deepEqual(ids(last), [c[2], c[1]]);
    assert.equal(last.has_more, false);
    const newest = await list({ limit: 3, ending_before: c[7] });
    assert.deepEqual(ids(newest), [c[9], c[8]]);
    assert.equal(newest.has_more, false);
    assert.equal((await list({})).data.length, 9, 'default limit is 10');
  });

  test('forward and backward through 250 customers: order, has_more, no gaps or duplicates', async () => {
    acct = await h.account('many');
    const created = await createMany(250);
    const newestFirst = [...created].reverse();
    for (const limit of [1, 7, 100]) {
      const seen: string[] = [];
      let page = await list({ limit });
      seen.push(...ids(page));
      while (page.has_more) {
        page = await list({ limit, starting_after: seen[seen.length - 1] });
        assert.ok(page.data.length > 0 && page.data.length <= limit);
        seen.push(...ids(page));
      }
      assert.deepEqual(seen, newestFirst, `forward, limit ${limit}`);
      // and back up from the oldest
      const back: string[] = [];
      let cursor = created[0] as string;
      for (;;) {
        const up = await list({ limit, ending_before: cursor });
        back.unshift(...ids(up));
        if (!up.has_more) break;
        cursor = up.data[0]?.id as string;
      }
      assert.deepEqual(back, newestFirst.slice(0, -1), `backward, limit ${limit}`);
    }
  });

  test('a cursor whose customer was deleted still pages correctly', async () => {
    acct = await h.account('deleted-cursor');
    const c = await createMany(6);
    await h.request('DELETE', `/v1/customers/${c[3]}`, { key: acct.test });
    assert.deepEqual(ids(await list({ limit: 2, starting_after: c[3] })), [c[2], c[1]]);
    assert.deepEqual(ids(await list({ limit: 2, ending_before: c[3] })), [c[5], c[4]]);
  });

  test('email filter is exact and case-insensitive, and combines with cursors', async () => {
    acct = await h.account('email');
    const c = await createMany(12, (i) => (i % 3 === 0 ? `Match@Example.com` : `other${i}@example.com`));
    const matching = [c[11], c[8], c[5], c[2]];
    assert.deepEqual(ids(await list({ email: 'match@example.COM' })), matching);
    const page1 = await list({ email: 'MATCH@example.com', limit: 2 });
    assert.deepEqual(ids(page1), matching.slice(0, 2));
    assert.equal(page1.has_more, true);
    const page2 = await list({ email: 'match@example.com', limit: 2, starting_after: page1.data[1]?.id });
    assert.deepEqual(ids(page2), matching.slice(2));
    assert.equal(page2.has_more, false);
    assert.deepEqual(ids(await list({ email: 'match@example' })), [], 'no partial matches');
  });

  test('created filters: exact and ranges, combined with email and cursors', async () => {
    acct = await h.account('created');
    const c = await createMany(10, (i) => (i % 2 === 0 ? 'even@example.com' : `odd${i}@example.com`));
    // Spread creation times: customer i was created at 1000 + i.
    for (const [i, id] of c.entries()) {
      await h.db.kysely
        .updateTable('customers')
        .set({ created: 1001 + i })
        .where('id', '=', id)
        .execute();
    }
    assert.deepEqual(ids(await list({ created: 1005 })), [c[4]]);
    assert.deepEqual(ids(await list({ created: { gt: 1007 } })), [c[9], c[8], c[7]]);
    assert.deepEqual(ids(await list({ created: { gte: 1007, lt: 1009 } })), [c[7], c[6]]);
    assert.deepEqual(ids(await list({ created: { lte: 1002 } })), [c[1], c[0]]);
    assert.deepEqual(ids(await list({ created: { gt: 1002, lte: 1008 }, email: 'even@example.com' })), [
      c[7],
      c[5],
      c[3],
    ]);
    const page = await list({ created: { gte: 1003 }, limit: 2, starting_after: c[6] });
    assert.deepEqual(ids(page), [c[5], c[4]]);
    assert.equal(page.has_more, true);
  });

  test('lists are per account and per mode', async () => {
    acct = await h.account('mine');
    const other = await h.account('theirs');
    const [mine] = await createMany(1);
    await h.request('POST', '/v1/customers', { key: other.test, json: { email: 'x@y.z' } });
    await h.request('POST', '/v1/customers', { key: acct.live, json: { email: 'live@y.z' } });
    assert.deepEqual(ids(await list({})), [mine]);
    assert.equal((await list({}, acct.live)).data.length, 1);
    assert.equal((await list({}, acct.live)).data[0]?.email, 'live@y.z');
  });

  test('cursor and parameter errors', async () => {
    acct = await h.account('errors');
    const cases: [Record<string, unknown>, string, string | undefined][] = [
      [
        { starting_after: 'cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY', ending_before: 'cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY' },
        'parameters_exclusive',
        undefined,
      ],
      [{ starting_after: 'nope' }, 'parameter_invalid', 'starting_after'],
      [{ ending_before: 'cus_123' }, 'parameter_invalid', 'ending_before'],
      [{ limit: 0 }, 'parameter_invalid', 'limit'],
      [{ limit: 101 }, 'parameter_invalid', 'limit'],
      [{ limit: 'ten' }, 'parameter_invalid', 'limit'],
      [{ created: { after: 5 } }, 'parameter_unknown', 'created[after]'],
      [{ created: 'yesterday' }, 'parameter_invalid', 'created'],
      [{ sort: 'asc' }, 'parameter_unknown', 'sort'],
    ];
    for (const [query, code, param] of cases) {
      const res = await h.request('GET', '/v1/customers', { key: acct.test, query });
      assert.equal(res.status, 400, JSON.stringify(query));
      assert.equal(res.body.error.code, code, JSON.stringify(query));
      assert.equal(res.body.error.param, param, JSON.stringify(query));
    }
  });

  test('list and retrieve show each customer byte for byte as the create answered, whatever its fields hold', async () => {
    acct = await h.account('shapes');
    const bodies: Record<string, unknown>[] = [
      { email: 'plain@example.com' },
      {
        email: 'full@example.com',
        first_name: 'Zoë "Q" \\ O\'Brien',
        last_name: 'Ωmega\t\n/\u2028',
        phone: '+1 555 0100',
        company_name: 'Ünïcødé 💳 Ltd.',
        notes: '<script>&</script>\u0001',
        metadata: { 'a b': 'c"d', empty: 'x', emoji: '🙂', nested_like: '{"x":1}' },
      },
    ];
    for (const key of [acct.test, acct.live]) {
      // The create's answer is serialised from the object by the response schema: the reference.
      const created: string[] = [];
      for (const json of bodies) {
        const res = await h.request('POST', '/v1/customers', { key, json });
        assert.equal(res.status, 200, res.raw);
        created.push(res.raw);
      }
      const page = await h.request('GET', '/v1/customers', { key, query: { limit: 10 } });
      assert.equal(page.status, 200, page.raw);
      assert.match(String(page.headers['content-type']), /^application\/json; charset=utf-8$/);
      assert.equal(
        page.raw,
        `{"object":"list","url":"/v1/customers","has_more":false,"data":[${[...created].reverse().join(',')}]}`,
      );
      for (const raw of created) {
        const one = await h.request('GET', `/v1/customers/${JSON.parse(raw).id}`, { key });
        assert.equal(one.status, 200);
        assert.match(String(one.headers['content-type']), /^application\/json; charset=utf-8$/);
        assert.equal(one.raw, raw);
      }
    }
  });
});
