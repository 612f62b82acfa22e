import assert from 'node:assert/strict';
import { test } from 'node:test';
import SQLite from 'better-sqlite3';
import { freshDatabase } from '../../test/helpers/harness.js';
import * as accounts from '../accounts/accounts.service.js';

test('group commit: writes arriving together share commits; a failing write fails alone', async () => {
  const fresh = await freshDatabase('sqlite');
  try {
    const { account } = await accounts.createAccount(fresh.db, { name: 'gc', stripeAccountId: null });
    const outside = new SQLite((fresh.config as { path: string }).path, { readonly: true });
    const count = (name: string) =>
      (outside.prepare('select count(*) as n from accounts where name = ?').get(name) as { n: number }).n;
    const results = await Promise.allSettled(
      Array.from({ length: 60 }, (_, i) =>
        fresh.db
          .write(async (trx) => {
            await trx
              .insertInto('accounts')
              .values({ id: `acct_gc_${i}`, name: `gc-${i}`, stripe_account_id: null, created: 1 })
              .execute();
            if (i % 3 === 0) throw new Error(`write ${i} refuses`);
            // Visible to another connection as soon as this caller is answered: it has committed.
            return i;
          })
          .then((value) => {
            assert.equal(count(`gc-${value}`), 1, `write ${value} is committed when acknowledged`);
            return value;
          }),
      ),
    );
    for (const [i, result] of results.entries()) {
      if (i % 3 === 0) {
        assert.equal(result.status, 'rejected');
        assert.match(String((result as PromiseRejectedResult).reason), new RegExp(`write ${i} refuses`));
        assert.equal(count(`gc-${i}`), 0, `the failed write ${i} left nothing behind`);
      } else {
        assert.deepEqual(result, { status: 'fulfilled', value: i });
        assert.equal(count(`gc-${i}`), 1);
      }
    }
    assert.ok(account.id);
    outside.close();
  } finally {
    await fresh.drop();
  }
});

test('group commit: a failed commit fails every write of its batch and none is kept', async () => {
  const fresh = await freshDatabase('sqlite');
  try {
    // A duplicate primary key inside a deferred-constraint-free batch fails its own savepoint
    // only; to fail the commit itself, hold the write lock from another connection.
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
      settled.every((s) => s.status === 'rejected'),
      'none is acknowledged',
    );
    const rows = await fresh.db.reader.selectFrom('accounts').selectAll().where('name', '=', 'x').execute();
    assert.equal(rows.length, 0);
  } finally {
    await fresh.drop();
  }
});
