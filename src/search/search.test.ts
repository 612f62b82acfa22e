import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { forEachDatabase, type TestAccount, useHarness } from '../../test/helpers/harness.js';

type Result = {
  object: string;
  url: string;
  has_more: boolean;
  next_page: string | null;
  data: { id: string; email: string }[];
};

forEachDatabase('GET /v1/customers/search', (dialect) => {
  const { h } = useHarness(dialect);

  const create = async (acct: TestAccount, json: Record<string, unknown>) => {
    const res = await h.request('POST', '/v1/customers', { key: acct.test, json });
    assert.equal(res.status, 200, res.raw);
    return res.body as { id: string; email: string };
  };
  const search = async (acct: TestAccount, query: string, extra: Record<string, unknown> = {}) => {
    const res = await h.request<Result>('GET', '/v1/customers/search', {
      key: acct.test,
      query: { query, ...extra },
    });
    assert.equal(res.status, 200, res.raw);
    return res.body;
  };
  const emails = (r: Result) => r.data.map((c) => c.email);

  test('every operator and field, case-insensitive, newest first, with null and negation', async () => {
    const acct = await h.account('operators');
    await create(acct, {
      email: 'ada_1@Example.com',
      first_name: 'Ada',
      last_name: 'Lovelace',
      phone: '+1 555 0100',
      company_name: 'Analytical Engines',
      metadata: { plan: 'Pro', 'a"b': 'Q' },
    });
    await create(acct, {
      email: 'grace%x@navy.mil',
      first_name: 'Grace',
      last_name: 'Hopper',
      metadata: { plan: 'free' },
    });
    await create(acct, { email: 'alan@example.org', first_name: 'Alan', last_name: '' });
    const cases: [string, string[]][] = [
      ['email~"EXAMPLE"', ['alan@example.org', 'ada_1@Example.com']],
      ['email:"ADA_1@example.COM"', ['ada_1@Example.com']],
      ['email:"ada_1@example"', []],
      // `_` and `%` are themselves, never wildcards
      ['email~"a_1"', ['ada_1@Example.com']],
      ['email~"e%x"', ['grace%x@navy.mil']],
      ['email~"a%x"', []],
      ['first_name:"grace"', ['grace%x@navy.mil']],
      ['last_name~"LOVE"', ['ada_1@Example.com']],
      ['last_name:""', ['alan@example.org']],
      ['name:"ada lovelace"', ['ada_1@Example.com']],
      ['name:"alan"', ['alan@example.org']],
      ['name~"e hop"', ['grace%x@navy.mil']],
      ['phone~"555"', ['ada_1@Example.com']],
      ['-phone~"555"', ['alan@example.org', 'grace%x@navy.mil']],
      ['phone:null', ['alan@example.org', 'grace%x@navy.mil']],
      ['-phone:null', ['ada_1@Example.com']],
      ['company_name~"ENGINE"', ['ada_1@Example.com']],
      ['-company_name:null', ['ada_1@Example.com']],
      ['metadata["plan"]:"pro"', ['ada_1@Example.com']],
      ['metadata[\'plan\']~"REE"', ['grace%x@navy.mil']],
      ['metadata["plan"]:null', ['alan@example.org']],
      ['-metadata["plan"]:"pro"', ['alan@example.org', 'grace%x@navy.mil']],
      ['metadata["a\\"b"]:"q"', ['ada_1@Example.com']],
      ['metadata["PLAN"]:"pro"', []],
      ['email~"example" AND first_name~"ada"', ['ada_1@Example.com']],
      ['email~"example" first_name~"ala"', ['alan@example.org']],
      ['email~"navy" OR first_name:"alan"', ['alan@example.org', 'grace%x@navy.mil']],
      ['-email~"example" OR phone~"555"', ['grace%x@navy.mil', 'ada_1@Example.com']],
      ['created>0', ['alan@example.org', 'grace%x@navy.mil', 'ada_1@Example.com']],
      ['created<0', []],
      ['created>=0 -created:0', ['alan@example.org', 'grace%x@navy.mil', 'ada_1@Example.com']],
    ];
    for (const [query, expected] of cases)
      assert.deepEqual(emails(await search(acct, query)), expected, query);
    const result = await search(acct, 'email~"example"');
    assert.equal(result.object, 'search_result');
    assert.equal(result.url, '/v1/customers/search');
    assert.equal(result.has_more, false);
    assert.equal(result.next_page, null);
  });

  test('read-your-writes: each client finds its own create, update and delete at once, while others write', async () => {
    const acct = await h.account('fresh');
    let writing = true;
    const noise = (async () => {
      for (let i = 0; writing && i < 500; i++) await create(acct, { email: `noise${i}@example.com` });
    })();
    await Promise.all(
      Array.from({ length: 12 }, async (_, client) => {
        for (let round = 0; round < 4; round++) {
          const tag = randomBytes(6).toString('hex');
          const made = await create(acct, { email: `c${client}-${tag}@example.com` });
          assert.deepEqual(emails(await search(acct, `email~"${tag}"`)), [made.email]);
          const renamed = await h.request('PATCH', `/v1/customers/${made.id}`, {
            key: acct.test,
            json: { email: `moved-${tag}@example.net`, last_name: `L${tag}` },
          });
          assert.equal(renamed.status, 200);
          assert.deepEqual(emails(await search(acct, `email~"moved-${tag}"`)), [`moved-${tag}@example.net`]);
          assert.deepEqual(emails(await search(acct, `email~"c${client}-${tag}"`)), []);
          assert.deepEqual((await search(acct, `last_name:"l${tag}"`)).data.length, 1);
          assert.equal(
            (await h.request('DELETE', `/v1/customers/${made.id}`, { key: acct.test })).status,
            200,
          );
          assert.deepEqual(emails(await search(acct, `email~"${tag}"`)), []);
          assert.deepEqual(emails(await search(acct, `last_name:"l${tag}"`)), []);
        }
      }),
    );
    writing = false;
    await noise;
  });

  test('1,000 matches paged forwards without gaps or duplicates; a page of another query is refused', async () => {
    const acct = await h.account('paging');
    const ids: string[] = [];
    for (let chunk = 0; chunk < 10; chunk++) {
      const made = await Promise.all(
        Array.from({ length: 100 }, (_, i) => create(acct, { email: `page${chunk * 100 + i}@paging.test` })),
      );
      ids.push(...made.map((c) => c.id));
    }
    await create(acct, { email: 'other@elsewhere.test' });
    const newestFirst = [...ids].sort().reverse();
    for (const query of ['email~"paging"', '-email~"elsewhere"']) {
      const seen: string[] = [];
      let page = await search(acct, query, { limit: 100 });
      seen.push(...page.data.map((c) => c.id));
      while (page.has_more) {
        assert.ok(page.next_page);
        page = await search(acct, query, { limit: 100, page: page.next_page });
        seen.push(...page.data.map((c) => c.id));
      }
      assert.equal(page.next_page, null);
      assert.deepEqual(seen, newestFirst, query);
    }
    const first = await search(acct, 'email~"paging"', { limit: 10 });
    for (const [query, page] of [
      ['email~"pagin"', first.next_page],
      ['email~"paging"', `${first.next_page?.slice(0, -2)}AA`],
      ['email~"paging"', 'v1.abc.def.ghi'],
      ['email~"paging"', 'cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY'],
    ] as const) {
      const res = await h.request('GET', '/v1/customers/search', { key: acct.test, query: { query, page } });
      assert.equal(res.status, 400, res.raw);
      assert.equal(res.body.error.code, 'parameter_invalid');
      assert.equal(res.body.error.param, 'page');
    }
    // The same token is refused by another account and by the other mode.
    const other = await h.account('paging-other');
    for (const key of [other.test, acct.live]) {
      const res = await h.request('GET', '/v1/customers/search', {
        key,
        query: { query: 'email~"paging"', page: first.next_page },
      });
      assert.equal(res.status, 400);
      assert.equal(res.body.error.param, 'page');
    }
  });

  test('bad parameters: each a 400 in the envelope, never a 500', async () => {
    const acct = await h.account('bad');
    const cases: [Record<string, unknown>, string, string][] = [
      [{}, 'parameter_missing', 'query'],
      [{ query: '' }, 'parameter_missing', 'query'],
      [{ query: '   ' }, 'parameter_missing', 'query'],
      [{ query: 'email~"ab"' }, 'parameter_invalid', 'query'],
      [{ query: 'x'.repeat(2001) }, 'parameter_invalid', 'query'],
      [{ query: ['a', 'b'] }, 'parameter_invalid', 'query'],
      [{ query: { a: 1 } }, 'parameter_invalid', 'query'],
      [{ query: 'email~"abc"', limit: 0 }, 'parameter_invalid', 'limit'],
      [{ query: 'email~"abc"', limit: 101 }, 'parameter_invalid', 'limit'],
      [{ query: 'email~"abc"', limit: 'ten' }, 'parameter_invalid', 'limit'],
      [{ query: 'email~"abc"', page: '' }, 'parameter_invalid', 'page'],
      [{ query: 'email~"abc"', page: 'x'.repeat(1001) }, 'parameter_invalid', 'page'],
      [{ query: 'email~"abc"', starting_after: 'cus_x' }, 'parameter_unknown', 'starting_after'],
    ];
    for (const [query, code, param] of cases) {
      const res = await h.request('GET', '/v1/customers/search', { key: acct.test, query });
      assert.equal(res.status, 400, `${JSON.stringify(query)}: ${res.raw}`);
      assert.equal(res.body.error.code, code, JSON.stringify(query));
      assert.equal(res.body.error.param, param, JSON.stringify(query));
    }
  });
});
