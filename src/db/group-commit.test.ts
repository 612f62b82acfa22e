import assert from 'node:assert/strict';
import { test } from 'node:test';
import SQLite from 'better-sqlite3';
import type { Transaction } from 'kysely';
import { forEachDatabase, freshDatabase } from '../../test/helpers/harness.js';
import { customerRow } from '../../test/helpers/rows.js';
import * as accounts from '../accounts/accounts.service.js';
import { customerInserts } from '../customers/customers.store.js';
import type { Coalescer } from './group-commit.js';
import type { Database } from './schema.js';

const insertAccount = (trx: Transaction<Database>, name: string) =>
  trx
    .insertInto('accounts')
    .values({ id: `acct_${name}`, name, stripe_account_id: null, created: 1 })
    .execute();

async function namesLike(db: Pick<Transaction<Database>, 'selectFrom'>, pattern: string): Promise<number> {
  return (await db.selectFrom('accounts').select('id').where('name', 'like', pattern).execute()).length;
}

/** A coalescer that inserts an account per value and records the values of each flush. */
function accountsCoalescer(
  phase: Coalescer<string>['phase'],
  key: string,
  check?: (trx: Transaction<Database>, values: string[]) => Promise<void>,
) {
  const flushes: string[][] = [];
  const coalescer: Coalescer<string> = {
    key,
    phase,
    async flush(trx, values) {
      await check?.(trx, values);
      flushes.push([...values]);
      await trx
        .insertInto('accounts')
        .values(values.map((name) => ({ id: `acct_${name}`, name, stripe_account_id: null, created: 1 })))
        .execute();
    },
  };
  return { coalescer, flushes };
}

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
        coalesce: [
          { coalescer: customerInserts, value: customerRow('cus_TAKEN', account.id, 'first@example.com') },
        ],
      });
      // 37 rows: statements of 32, 4 and 1 rows; one of them repeats a stored id.
      const results = await Promise.allSettled(
        Array.from({ length: 37 }, (_, i) =>
          fresh.db.write(async () => i, {
            coalesce: [
              {
                coalescer: customerInserts,
                value: customerRow(i === 20 ? 'cus_TAKEN' : `cus_GC${i}`, account.id, `c${i}@example.com`),
              },
            ],
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

  test("'after' values added while writes run: one flush after every write function, before COMMIT", async () => {
    const fresh = await freshDatabase(dialect);
    try {
      const ran: number[] = [];
      const before = accountsCoalescer('before', 'gc.before');
      const after = accountsCoalescer('after', 'gc.after', async (trx, values) => {
        // Every write function of the batch has run, and their statements are in this transaction.
        assert.deepEqual(
          [...ran].sort((a, b) => a - b),
          values.map((v) => Number(v.split('-')[1])),
        );
        assert.equal(await namesLike(trx, 'write-%'), values.length);
      });
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          fresh.db
            .write(
              async (trx, batch) => {
                // The 'before' rows of the whole batch are in already.
                assert.equal(await namesLike(trx, 'before-%'), 20);
                await insertAccount(trx, `write-${i}`);
                batch.add(after.coalescer, `after-${i}`);
                ran.push(i);
                return i;
              },
              { coalesce: [{ coalescer: before.coalescer, value: `before-${i}` }] },
            )
            .then(async (value) => {
              // Acknowledged: the row flushed at the end of its batch has committed.
              assert.equal(await namesLike(fresh.db.reader, `after-${value}`), 1);
              return value;
            }),
        ),
      );
      assert.deepEqual(
        results,
        Array.from({ length: 20 }, (_, i) => i),
      );
      assert.deepEqual(before.flushes, [Array.from({ length: 20 }, (_, i) => `before-${i}`)]);
      assert.deepEqual(after.flushes, [Array.from({ length: 20 }, (_, i) => `after-${i}`)]);
    } finally {
      await fresh.drop();
    }
  });

  test("a failing write's 'after' values are not flushed; the others' flush once each, from their own run", async () => {
    const fresh = await freshDatabase(dialect);
    try {
      const after = accountsCoalescer('after', 'gc.after');
      const runs = new Map<number, number>();
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) =>
          fresh.db.write(async (trx, batch) => {
            const run = (runs.get(i) ?? 0) + 1;
            runs.set(i, run);
            await insertAccount(trx, `write-${i}-run-${run}`);
            batch.add(after.coalescer, `after-${i}-run-${run}`);
            if (i === 2) throw new Error('write 2 refuses');
            return i;
          }),
        ),
      );
      for (const [i, result] of results.entries()) {
        if (i === 2) assert.equal(result.status, 'rejected');
        else assert.deepEqual(result, { status: 'fulfilled', value: i });
      }
      // The batch ran writes 0, 1 and 2, and rolled back when 2 failed; then each write ran
      // alone. Only those runs flushed, each its own value: none from the batch's runs of 0 and
      // 1, none from the refused write.
      assert.deepEqual(
        [0, 1, 2, 3, 4, 5].map((i) => runs.get(i)),
        [2, 2, 2, 1, 1, 1],
      );
      const expected = ['after-0-run-2', 'after-1-run-2', 'after-3-run-1', 'after-4-run-1', 'after-5-run-1'];
      assert.deepEqual(after.flushes.map((values) => values.join()).sort(), expected);
      const names = await fresh.db.reader
        .selectFrom('accounts')
        .select('name')
        .where('name', 'like', 'after-%')
        .orderBy('name')
        .execute();
      assert.deepEqual(
        names.map((r) => r.name),
        expected,
      );
      assert.equal(await namesLike(fresh.db.reader, '%-2-%'), 0, 'nothing of the refused write is kept');
    } finally {
      await fresh.drop();
    }
  });

  test("values given up front to an 'after' coalescer are flushed with those added; a 'before' one refuses additions", async () => {
    const fresh = await freshDatabase(dialect);
    try {
      const after = accountsCoalescer('after', 'gc.after');
      const before = accountsCoalescer('before', 'gc.before');
      await fresh.db.write(async (_trx, batch) => batch.add(after.coalescer, 'added'), {
        coalesce: [{ coalescer: after.coalescer, value: 'up-front' }],
      });
      assert.deepEqual(after.flushes, [['up-front', 'added']]);
      await assert.rejects(
        fresh.db.write(async (_trx, batch) => batch.add(before.coalescer, 'too late')),
        /flushed before the writes run/,
      );
      assert.deepEqual(before.flushes, []);
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
