import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'kysely';
import { forEachDatabase, type Harness, startHarness, type TestAccount } from '../../test/helpers/harness.js';

forEachDatabase('GET and DELETE /v1/customers/:id', (dialect) => {
  let h: Harness;
  let acct: TestAccount;
  before(async () => {
    h = await startHarness(dialect);
    acct = await h.account();
  });
  after(() => h.close());

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
    const tables =
      dialect === 'sqlite'
        ? await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(
            h.db.kysely,
          )
        : await sql<{
            name: string;
          }>`select table_name as name from information_schema.tables where table_schema = current_schema()`.execute(
            h.db.kysely,
          );
    for (const { name } of tables.rows) {
      const rows = await sql<Record<string, unknown>>`select * from ${sql.table(name)}`.execute(h.db.kysely);
      const text = JSON.stringify(rows.rows);
      assert.ok(!text.includes(marker), `table ${name} still holds the deleted customer's data`);
    }
  });
});
