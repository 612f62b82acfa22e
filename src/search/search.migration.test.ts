import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sql } from 'kysely';
import * as accounts from '../accounts/accounts.service.js';
import { insertCustomers, type NewCustomerRow } from '../customers/customers.store.js';
import { openMigrated } from '../db/index.js';
import { ftsTable, TRIGRAM_COLUMNS } from '../db/migrations.search.js';
import { newId } from '../ids.js';

// Migration 0012 on a SQLite database that has customers and the one FTS5 table of 0009: the
// per-column tables it makes are filled from `customer_search`, and kept in step from then on.

/** The layout 0009 made: one FTS5 table over the four columns, three triggers. */
const OLD_LAYOUT = [
  `create virtual table customer_search_fts using fts5(email, name, phone, company_name, content='customer_search', content_rowid='seq', tokenize='trigram case_sensitive 1')`,
  `insert into customer_search_fts(customer_search_fts) values ('rebuild')`,
  `create trigger customer_search_ai after insert on customer_search begin insert into customer_search_fts(rowid, email, name, phone, company_name) values (new.seq, new.email, new.name, new.phone, new.company_name); end`,
  `create trigger customer_search_ad after delete on customer_search begin insert into customer_search_fts(customer_search_fts, rowid, email, name, phone, company_name) values ('delete', old.seq, old.email, old.name, old.phone, old.company_name); end`,
  `create trigger customer_search_au after update on customer_search begin insert into customer_search_fts(customer_search_fts, rowid, email, name, phone, company_name) values ('delete', old.seq, old.email, old.name, old.phone, old.company_name); insert into customer_search_fts(rowid, email, name, phone, company_name) values (new.seq, new.email, new.name, new.phone, new.company_name); end`,
];

test('0012 builds the per-column indexes from the rows already there', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lunipay-0012-'));
  const database = { dialect: 'sqlite' as const, path: join(dir, 'db.sqlite') };
  try {
    let db = await openMigrated({ database });
    const { account } = await accounts.createAccount(db, { name: 'Migrated', stripeAccountId: null });
    const now = Math.floor(Date.now() / 1000);
    const rows: NewCustomerRow[] = Array.from({ length: 50 }, (_, i) => ({
      id: newId('cus'),
      account_id: account.id,
      mode: 'test',
      email: `m${i}@example.com`,
      email_lower: `m${i}@example.com`,
      first_name: `Name${i}`,
      last_name: 'Last',
      phone: i % 2 ? `+1 555 ${1000 + i}` : null,
      company_name: null,
      notes: null,
      metadata: null,
      stripe_customer_id: null,
      created: now,
      updated: now,
    }));
    // Back to the state before 0012: its tables gone, 0009's in their place.
    for (const column of TRIGRAM_COLUMNS) {
      await sql.raw(`drop trigger ${ftsTable(column)}_au`).execute(db.kysely);
      await sql.raw(`drop table ${ftsTable(column)}`).execute(db.kysely);
    }
    await sql.raw('drop trigger customer_search_ai').execute(db.kysely);
    await sql.raw('drop trigger customer_search_ad').execute(db.kysely);
    for (const statement of OLD_LAYOUT) await sql.raw(statement).execute(db.kysely);
    await sql`delete from lunipay_migrations where name = '0012_customer_search_fts_per_column'`.execute(
      db.kysely,
    );
    await db.kysely.transaction().execute((trx) => insertCustomers(trx, rows, 16));
    await db.close();

    db = await openMigrated({ database });
    const count = async (column: string, term: string) =>
      (
        await sql<{
          n: number;
        }>`select count(*) as n from ${sql.id(ftsTable(column as 'email'))} where ${sql.id(ftsTable(column as 'email'))} match ${`"${term}"`}`.execute(
          db.kysely,
        )
      ).rows[0]?.n;
    assert.equal(await count('email', 'm17@'), 1);
    assert.equal(await count('phone', '555 1'), 25);
    assert.equal(await count('name', 'name4'), 11);
    await db.kysely
      .updateTable('customer_search')
      .set({ phone: '+44 1' })
      .where('email', '=', 'm17@example.com')
      .execute();
    assert.equal(await count('phone', '+44 1'), 1);
    for (const column of TRIGRAM_COLUMNS) {
      const table = ftsTable(column);
      await sql.raw(`insert into ${table}(${table}, rank) values ('integrity-check', 1)`).execute(db.kysely);
    }
    const old = await sql`select name from sqlite_master where name = 'customer_search_fts'`.execute(
      db.kysely,
    );
    assert.deepEqual(old.rows, []);
    await db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
