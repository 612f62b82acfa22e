import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuthenticationError, type Customer, InvalidRequestError } from '../../sdk/src/index.js';
import { rejection } from '../../sdk/test/helpers.js';
import { seed, useSdkServer } from './server.js';

/** `customers.search` and `customers.export` against the real server. */
describe('customers.search and customers.export', () => {
  const { account, client, direct } = useSdkServer();

  it('search: one page when awaited, every match when iterated, through next_page', async () => {
    const { key } = await account();
    const made = await seed(direct(key), 25, (i) => `searched${i}@example.com`);
    await direct(key).customers.create({ email: 'other@elsewhere.test' });
    const lunipay = client(key);
    const page = await lunipay.customers.search({ query: 'email~"SEARCHED"', limit: 10 });
    assert.equal(page.object, 'search_result');
    assert.equal(page.data.length, 10);
    assert.equal(page.has_more, true);
    assert.equal(typeof page.next_page, 'string');
    const all: string[] = [];
    for await (const c of lunipay.customers.search({ query: 'email~"searched"', limit: 7 })) all.push(c.id);
    assert.deepEqual(all, made.map((c) => c.id).reverse());
    const error = await rejection(lunipay.customers.search({ query: 'email~"ab"' }));
    assert.ok(error instanceof InvalidRequestError);
    assert.equal(error.code, 'parameter_invalid');
    assert.equal(error.param, 'query');
    assert.match(error.message, /position 7/);
  });

  it('export: every customer as objects, newest first, filters applied, errors typed', async () => {
    const { key } = await account();
    const made = await seed(direct(key), 1200, (i) => `exported${i}@example.com`);
    const lunipay = client(key);
    const seen: Customer[] = [];
    for await (const c of lunipay.customers.export()) seen.push(c);
    assert.deepEqual(
      seen.map((c) => c.id),
      made.map((c) => c.id).reverse(),
    );
    assert.deepEqual(seen.at(-1), made[0]);
    const one: Customer[] = [];
    for await (const c of lunipay.customers.export({ email: 'EXPORTED7@example.com' })) one.push(c);
    assert.deepEqual(
      one.map((c) => c.email),
      ['exported7@example.com'],
    );
    let taken = 0;
    for await (const _ of lunipay.customers.export()) if (++taken === 3) break;
    assert.equal(taken, 3);
    const bad = client('sk_test_nope');
    const error = await rejection(
      (async () => {
        for await (const _ of bad.customers.export()) assert.fail('nothing');
      })(),
    );
    assert.ok(error instanceof AuthenticationError, String(error));
  });
});
