import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import { forEachDatabase, useHarness } from '../../test/helpers/harness.js';

// A deleted customer's personal data leaves the search index with it: the folded copy, the
// record of its import row, and (SQLite) the trigrams in the full-text index itself.

forEachDatabase('search index erasure', (dialect) => {
  const { h, acct } = useHarness(dialect);

  test('after a delete, no trigram of its text is left in the index', async () => {
    const marker = 'qxzjvwk';
    const res = await h.request('POST', '/v1/customers', {
      key: acct.test,
      json: {
        // Digits of its own, for the email's windows: 135792, 357924, …
        email: `${marker}.1357924680@example.com`,
        first_name: `${marker}f`,
        // Digits of its own, for the phone's windows: 986420, 864209, …
        phone: `${marker}p 9864209753`,
        company_name: `${marker}c`,
      },
    });
    assert.equal(res.status, 200);
    // Another customer, so the index is not simply empty afterwards.
    assert.equal(
      (await h.request('POST', '/v1/customers', { key: acct.test, json: { email: 'other@example.com' } }))
        .status,
      200,
    );
    const terms = async () => {
      if (dialect === 'postgres') {
        const { rows } = await sql<{
          n: string;
        }>`select count(*) as n from customer_search where email like ${`%${marker}%`} or name like ${`%${marker}%`}`.execute(
          h.db.kysely,
        );
        return Number(rows[0]?.n);
      }
      // The index's own pages, as stored: a trigram kept under a deletion mark would be here.
      const { rows } = await sql<{
        block: Uint8Array | null;
      }>`select block from customer_search_email_fts_data union all select block from customer_search_name_fts_data`.execute(
        h.db.kysely,
      );
      const bytes = Buffer.concat(rows.map((r) => Buffer.from(r.block ?? new Uint8Array())));
      return ['qxz', 'xzj', 'zjv', 'jvw', 'vwk'].filter((t) => bytes.includes(t)).length;
    };
    /** SQLite: the phone's and the email's windows in the pages of their own indexes. */
    const windows = async () => {
      const { rows } = await sql<{
        block: Uint8Array | null;
      }>`select block from customer_search_phone_windows_fts_data union all select block from customer_search_email_windows_fts_data`.execute(
        h.db.kysely,
      );
      const bytes = Buffer.concat(rows.map((r) => Buffer.from(r.block ?? new Uint8Array())));
      const phone = ['986420', '864209', '642097', '420975', '209753'];
      const email = ['135792', '357924', '579246', '792468', '924680'];
      return {
        phone: phone.filter((w) => bytes.includes(w)).length,
        email: email.filter((w) => bytes.includes(w)).length,
      };
    };
    assert.ok((await terms()) > 0, 'the index holds it while it exists');
    if (dialect === 'sqlite') {
      const held = await windows();
      assert.ok(held.phone > 0 && held.email > 0, 'the windows are in their indexes');
    }
    assert.equal((await h.request('DELETE', `/v1/customers/${res.body.id}`, { key: acct.test })).status, 200);
    assert.equal(await terms(), 0);
    if (dialect === 'sqlite') assert.deepEqual(await windows(), { phone: 0, email: 0 });
    const search = await h.request('GET', '/v1/customers/search', {
      key: acct.test,
      query: { query: `email~"${marker}"` },
    });
    assert.deepEqual(search.body.data, []);
    const left = await h.db.kysely
      .selectFrom('customer_search')
      .select('customer_id')
      .where('customer_id', '=', res.body.id)
      .execute();
    assert.deepEqual(left, []);
  });
});
