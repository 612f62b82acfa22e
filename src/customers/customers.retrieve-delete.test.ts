import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import { forEachDatabase, useHarness } from '../../test/helpers/harness.js';
import { tableNames } from '../../test/helpers/rows.js';

forEachDatabase('GET and DELETE /v1/customers/:id', (dialect) => {
  const { h, acct } = useHarness(dialect);

  const create = async (body: Record<string, unknown> = {}) =>
    (
      await h.request('POST', '/v1/customers', {
        key: acct.test,
        json: { email: 'ada@example.com', ...body },
      })
    ).body;

  test('retrieve returns the customer', async () => {
    const c = await create({ notes: 'n' });
    const res = await h.request('GET', `/v1/customers/${c.id}`, { key: acct.test });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, c);
  });

  test('retrieve of unknown or malformed ids is 404 with param id', async () => {
    for (const id of [
      'cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY',
      'nope',
      'cus_',
      `cus_${'Z'.repeat(26)}`,
      'cus_01jrzk2q4t9zs0vcna3hx7w9ey',
    ]) {
      const res = await h.request('GET', `/v1/customers/${encodeURIComponent(id)}`, { key: acct.test });
      assert.equal(res.status, 404, id);
      assert.equal(res.body.error.code, 'resource_missing');
      assert.equal(res.body.error.param, 'id');
      assert.equal(res.body.error.message, `No such customer: '${id}'.`);
    }
  });

  test('delete answers {id, object, deleted} and the customer is gone everywhere', async () => {
    const unique = `gone-${Date.now()}@example.com`;
    const c = await create({
      email: unique,
      first_name: 'Secret',
      last_name: 'Person',
      phone: '+44 20 7946 0000',
      company_name: 'Hidden Ltd',
      notes: 'private note',
      metadata: { k: 'private value' },
    });
    const res = await h.request('DELETE', `/v1/customers/${c.id}`, { key: acct.test });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { id: c.id, object: 'customer', deleted: true });
    assert.equal((await h.request('GET', `/v1/customers/${c.id}`, { key: acct.test })).status, 404);
    const again = await h.request('DELETE', `/v1/customers/${c.id}`, { key: acct.test });
    assert.equal(again.status, 404);
    assert.equal(again.body.error.code, 'resource_missing');
    const list = await h.request('GET', '/v1/customers', { key: acct.test, query: { limit: 100 } });
    assert.ok(!list.body.data.some((x: { id: string }) => x.id === c.id));
    const byEmail = await h.request('GET', '/v1/customers', { key: acct.test, query: { email: unique } });
    assert.equal(byEmail.body.data.length, 0);
  });

  test('no copy of a deleted customer’s personal data remains in any table', async () => {
    const marker = `pii${Date.now()}`;
    const c = await create({
      email: `${marker}@example.com`,
      first_name: `${marker}first`,
      last_name: `${marker}last`,
      phone: `${marker}phone`,
      company_name: `${marker}co`,
      notes: `${marker}notes`,
      metadata: { key: `${marker}meta` },
    });
    await h.request('DELETE', `/v1/customers/${c.id}`, { key: acct.test });
    for (const name of await tableNames(h.db.kysely, dialect)) {
      const rows = await sql<Record<string, unknown>>`select * from ${sql.table(name)}`.execute(h.db.kysely);
      const text = JSON.stringify(rows.rows);
      assert.ok(!text.includes(marker), `table ${name} still holds the deleted customer's data`);
    }
  });
});

forEachDatabase('batched retrieves and group-committed writes keep their meaning', (dialect) => {
  const { h } = useHarness(dialect);

  test('retrieves answered by one query each get their own customer, scoped to their key', async () => {
    const a = await h.account('A');
    const b = await h.account('B');
    const make = async (key: string, email: string) =>
      (await h.request('POST', '/v1/customers', { key, json: { email } })).body;
    const aTest = await make(a.test, 'a-test@example.com');
    const aLive = await make(a.live, 'a-live@example.com');
    const bTest = await make(b.test, 'b-test@example.com');
    const gone = await make(a.test, 'gone@example.com');
    await h.request('DELETE', `/v1/customers/${gone.id}`, { key: a.test });

    // Sent together, so the server batches them; each must answer as if it were alone.
    const cases = Array.from({ length: 60 }, (_, i) => {
      const pick = [
        { key: a.test, id: aTest.id, want: aTest },
        { key: a.live, id: aLive.id, want: aLive },
        { key: b.test, id: bTest.id, want: bTest },
        { key: b.test, id: aTest.id, want: null }, // another account's customer
        { key: a.test, id: aLive.id, want: null }, // the other mode's customer
        { key: a.test, id: gone.id, want: null }, // deleted
      ][i % 6] as { key: string; id: string; want: unknown };
      return pick;
    });
    const answers = await Promise.all(
      cases.map((c) => h.request('GET', `/v1/customers/${c.id}`, { key: c.key })),
    );
    for (const [i, res] of answers.entries()) {
      const c = cases[i] as { want: unknown; id: string };
      if (c.want) assert.deepEqual([res.status, res.body], [200, c.want], `case ${i}`);
      else assert.deepEqual([res.status, res.body.error.code], [404, 'resource_missing'], `case ${i}`);
    }
  });

  test('a write acknowledged is what the next retrieve sees, under concurrent load', async () => {
    const a = await h.account('RAW');
    const rounds = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const created = await h.request('POST', '/v1/customers', {
          key: a.test,
          json: { email: `raw${i}@example.com` },
        });
        const seen = await h.request('GET', `/v1/customers/${created.body.id}`, { key: a.test });
        const updated = await h.request('PATCH', `/v1/customers/${created.body.id}`, {
          key: a.test,
          json: { phone: `+1555000${i}` },
        });
        const after = await h.request('GET', `/v1/customers/${created.body.id}`, { key: a.test });
        await h.request('DELETE', `/v1/customers/${created.body.id}`, { key: a.test });
        const deleted = await h.request('GET', `/v1/customers/${created.body.id}`, { key: a.test });
        return { created, seen, updated, after, deleted };
      }),
    );
    for (const r of rounds) {
      assert.deepEqual(r.seen.body, r.created.body);
      assert.deepEqual(r.after.body, r.updated.body);
      assert.equal(r.deleted.status, 404);
    }
  });
});
