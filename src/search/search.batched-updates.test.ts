import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import { forEachDatabase, useHarness } from '../../test/helpers/harness.js';
import { searchRequests } from '../../test/helpers/search.js';
import { SEARCH_FTS_TABLES } from '../db/migrations.search-windows.js';

// Updates committed together write their search rows together (SQLite: one statement for the
// batch, customers.store.ts searchRowUpdates). The search row is the customer as committed, even
// when one batch updates the same customer more than once.

forEachDatabase('search rows of updates committed together', (dialect) => {
  const { h, acct } = useHarness(dialect);
  const { create, search } = searchRequests(h);

  test('concurrent updates of one customer and of many: each search row is its customer as committed', async () => {
    const one = await create(acct, { email: 'same@example.com', phone: '+1 415 555 0000' });
    const many = await Promise.all(
      Array.from({ length: 20 }, (_, i) => create(acct, { email: `many${i}@example.com` })),
    );
    const patch = (id: string, json: Record<string, unknown>) =>
      h.request('POST', `/v1/customers/${id}`, { key: acct.test, json });
    const answers = await Promise.all([
      ...Array.from({ length: 20 }, (_, i) => patch(one.id, { phone: `+1 415 555 ${String(7100 + i)}` })),
      ...many.map((c, i) =>
        patch(c.id, { phone: `+44 20 7946 ${String(3000 + i)}`, first_name: `Batch${i}` }),
      ),
    ]);
    for (const res of answers) assert.equal(res.status, 200, res.raw);

    const stored = await h.request('GET', `/v1/customers/${one.id}`, { key: acct.test });
    const phone = stored.body.phone as string;
    assert.deepEqual(await search(acct, `phone~"${phone}"`), ['same@example.com']);
    assert.deepEqual(await search(acct, 'phone~"415 555 71"'), ['same@example.com']);
    assert.equal((await search(acct, 'phone~"+44 20 7946 3"')).length, 20);
    for (const [i, c] of many.entries())
      assert.deepEqual(await search(acct, `name~"batch${i}" AND phone~"7946 ${3000 + i}"`), [c.email]);
    if (dialect === 'sqlite') {
      for (const table of SEARCH_FTS_TABLES)
        await sql
          .raw(`insert into ${table}(${table}, rank) values ('integrity-check', 1)`)
          .execute(h.db.kysely);
    }
  });
});
