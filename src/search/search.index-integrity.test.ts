import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import { forEachDatabase, useHarness } from '../../test/helpers/harness.js';
import { SEARCH_FTS_TABLES } from '../db/migrations.search-windows.js';

// SQLite keeps one FTS5 table per searched column in step with `customer_search` by triggers;
// an update re-indexes only the columns it changed. FTS5's own integrity check compares each
// index with the rows it was built from, so a trigger that missed a change shows here.

forEachDatabase('the per-column trigram indexes', (dialect) => {
  const { h, acct } = useHarness(dialect);

  test('after creates, updates of one field or several, and deletes, every index matches its column', async (t) => {
    if (dialect !== 'sqlite') return t.skip('PostgreSQL indexes the columns themselves');
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      const res = await h.request('POST', '/v1/customers', {
        key: acct.test,
        json: {
          // Every other email with six digits, so the email's windows are indexed too.
          email: i % 2 === 0 ? `c.${String(i).padStart(6, '0')}@example.com` : `c${i}@example.com`,
          first_name: `First${i}`,
          // Six digits or more, so the phone's windows are indexed too.
          phone: i % 3 === 0 ? null : `+1 555 ${String(i).padStart(4, '0')}`,
        },
      });
      assert.equal(res.status, 200, res.raw);
      ids.push(res.body.id);
    }
    const patch = (id: string, json: Record<string, unknown>) =>
      h.request('POST', `/v1/customers/${id}`, { key: acct.test, json });
    for (const [i, id] of ids.entries()) {
      if (i % 4 === 0) assert.equal((await patch(id, { phone: `+44 20 7946 ${i}` })).status, 200);
      if (i % 4 === 1) assert.equal((await patch(id, { phone: null, company_name: 'Acme' })).status, 200);
      if (i % 4 === 2)
        assert.equal(
          (await patch(id, { email: `moved.${400_000 + i}@example.com`, last_name: 'X' })).status,
          200,
        );
      if (i % 5 === 0)
        assert.equal((await h.request('DELETE', `/v1/customers/${id}`, { key: acct.test })).status, 200);
    }
    for (const table of SEARCH_FTS_TABLES) {
      await sql
        .raw(`insert into ${table}(${table}, rank) values ('integrity-check', 1)`)
        .execute(h.db.kysely);
    }
    const found = await h.request('GET', '/v1/customers/search', {
      key: acct.test,
      query: { query: 'phone~"+44 "', limit: 100 },
    });
    assert.equal(found.status, 200, found.raw);
    const moved = ['+44 20 7946 12', '+44 20 7946 16', '+44 20 7946 24', '+44 20 7946 28'];
    const expected = [...moved, '+44 20 7946 4', '+44 20 7946 8'];
    assert.deepEqual(found.body.data.map((c: { phone: string }) => c.phone).sort(), expected);
    // By the windows: six digits or more.
    const byWindows = await h.request('GET', '/v1/customers/search', {
      key: acct.test,
      query: { query: 'phone~"20 7946 1"', limit: 100 },
    });
    assert.equal(byWindows.status, 200, byWindows.raw);
    assert.deepEqual(byWindows.body.data.map((c: { phone: string }) => c.phone).sort(), moved.slice(0, 2));
  });
});
