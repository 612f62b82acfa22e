import assert from 'node:assert/strict';
import { test } from 'node:test';
import SQLite from 'better-sqlite3';
import { forEachDatabase, freshDatabase } from '../../test/helpers/harness.js';
import * as accounts from '../accounts/accounts.service.js';

const customer = (id: string, accountId: string, email: string) => ({
  id,
  account_id: accountId,
  mode: 'test' as const,
  email,
  email_lower: email,
  first_name: '',
  last_name: '',
  phone: null,
  company_name: null,
  notes: null,
  metadata: null,
  stripe_customer_id: null,
  created: 1,
  updated: 1,
});

forEachDatabase('group commit', (dialect) => {
  test('writes arriving together share commits; a failing write fails alone', async () => {
    const fresh = await freshDatabase(dialect);
    try {
      // The reader sees only what has committed (on SQLite it is a second connection).
      const count = async (name: string) =>
        (await fresh.db.reader.selectFrom('accounts').select('id').where('name', '=', name).execute()).length;

      // Writes asked for in one turn of the event loop run in one transaction: the one `trx`
      // each of them is handed.
      const transactions = new Set<unknown>();
      const together = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          fresh.db.write(async (trx) => {
            transactions.add(trx);
            await trx
              .insertInto('accounts')
              .values({
                id: `acct_gc_together_${i}`,
                name: `gc-together-${i}`,
                stripe_account_id: null,
                created: 1,
              })
              .execute();
            return i;
          }),
        ),
      );
      assert.deepEqual(together, [...Array(40).keys()]);
      assert.equal(
        transactions.size,
        1,
        `40 writes arriving together took ${transactions.size} transactions`,
      );
      for (let i = 0; i < 40; i++) assert.equal(await count(`gc-together-${i}`), 1);

      const results = await Promise.allSettled(
        Array.from({ length: 60 }, (_, i) =>
          fresh.db
            .write(async (trx) => {
              await trx
                .insertInto('accounts')
                .values({ id: `acct_gc_${i}`, name: `gc-${i}`, stripe_account_id: null, created: 1 })
                .execute();
              if (i % 3 === 0) throw new Error(`write ${i} refuses`);
              return i;
            })
            .then(async (value) => {
              // Visible to another connection as soon as this caller is answered: it has committed.
              assert.equal(await count(`gc-${value}`), 1, `write ${value} is committed when acknowledged`);
              return value;
            }),
        ),
      );
      for (const [i, result] of results.entries()) {
        if (i % 3 === 0) {
          assert.equal(result.status, 'rejected');
          assert.match(String((result as PromiseRejectedResult).reason), new RegExp(`write ${i} refuses`));
          assert.equal(await count(`gc-${i}`), 0, `the failed write ${i} left nothing behind`);
        } else {
          assert.deepEqual(result, { status: 'fulfilled', value: i });
          assert.equal(await count(`gc-${i}`), 1);
        }
      }
    } finally {
      await fresh.drop();
    }
  });

  test('rows inserted together: one bad row fails only its own write', async () => {
    const fresh = await freshDatabase(dialect);
    try {
      const { account } = await accounts.createAccount(fresh.db, { name: 'gc', stripeAccountId: null });
      await fresh.db.write(async () => {}, {
        insert: { table: 'customers', values: customer('cus_TAKEN', account.id, 'first@example.com') },
      });
      // 37 rows: statements of 32, 4 and 1 rows; one of them repeats a stored id.
      const results = await Promise.allSettled(
        Array.from({ length: 37 }, (_, i) =>
          fresh.db.write(async () => i, {
            insert: {
              table: 'customers',
              values: customer(i === 20 ? 'cus_TAKEN' : `cus_GC${i}`, account.id, `c${i}@example.com`),
            },
          }),
        ),
      );
      const rows = await fresh.db.reader.selectFrom('customers').select(['id', 'email']).execute();
      for (const [i, result] of results.entries()) {
        if (i === 20) assert.equal(result.status, 'rejected', 'the duplicate id is refused');
        else assert.deepEqual(result, { status: 'fulfilled', value: i });
      }
      assert.equal(rows.length, 37, 'the 36 good rows and the first one');
      assert.equal(rows.find((r) => r.id === 'cus_TAKEN')?.email, 'first@example.com');
    } finally {
      await fresh.drop();
    }
  });
});

test('group commit (SQLite): a failed commit fails every write of its batch and none is kept', async () => {
  const fresh = await freshDatabase('sqlite');
  try {
    // Another connection holds the write lock: the batch cannot write, and nothing is retried
    // write by write (each would wait for the lock again).
    const other = new SQLite((fresh.config as { path: string }).path);
    other.pragma('busy_timeout = 0');
    other.exec('BEGIN IMMEDIATE');
    const pending = Array.from({ length: 5 }, (_, i) =>
      fresh.db.write((trx) =>
        trx
          .insertInto('accounts')
          .values({ id: `acct_x${i}`, name: 'x', stripe_account_id: null, created: 1 })
          .execute(),
      ),
    );
    const settled = await Promise.allSettled(pending);
    other.exec('ROLLBACK');
    other.close();
    assert.ok(
      settled.every((s) => s.status === 'rejected' && /SQLITE_BUSY|locked/i.test(String(s.reason))),
      'none is acknowledged',
    );
    const rows = await fresh.db.reader.selectFrom('accounts').selectAll().where('name', '=', 'x').execute();
    assert.equal(rows.length, 0);
  } finally {
    await fresh.drop();
  }
});
