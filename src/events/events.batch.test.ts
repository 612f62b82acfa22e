import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import BetterSqlite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { type FreshDatabase, forEachDatabase, freshDatabase } from '../../test/helpers/harness.js';
import { customerRow } from '../../test/helpers/rows.js';
import { createAccount } from '../accounts/accounts.service.js';
import type { AuthContext } from '../accounts/keys.js';
import * as customers from '../customers/customers.service.js';
import { GroupCommit } from '../db/group-commit.js';
import type { Database } from '../db/schema.js';
import type { Origin } from '../db/write-hooks.js';
import { newId } from '../ids.js';
import { writeCustomerEvent } from './events.hook.js';

const ORIGIN: Origin = { requestId: null, idempotencyKey: null, source: 'api' };

/**
 * Events of writes committed together (group commit): written once per batch, just before
 * COMMIT, numbered per account and mode; a customer deleted in the same batch as its earlier
 * writes leaves none of their personal data behind.
 */

forEachDatabase('events of writes committed together', (dialect) => {
  let fresh: FreshDatabase;
  let deps: customers.CustomerDeps;
  before(async () => {
    fresh = await freshDatabase(dialect);
    deps = { db: fresh.db, hooks: [writeCustomerEvent] };
  });
  after(() => fresh.drop());

  const caller = async (): Promise<{ test: AuthContext; live: AuthContext }> => {
    const { account } = await createAccount(fresh.db, { name: 'batch', stripeAccountId: null });
    return {
      test: { accountId: account.id, mode: 'test' },
      live: { accountId: account.id, mode: 'live' },
    } as {
      test: AuthContext;
      live: AuthContext;
    };
  };
  const events = (accountId: string) =>
    fresh.db.kysely
      .selectFrom('events')
      .select(['mode', 'sequence', 'type', 'object_id', 'data'])
      .where('account_id', '=', accountId)
      .orderBy('mode')
      .orderBy('sequence')
      .execute();

  test('a batch of several accounts and modes: every write has its event, each owner numbered 1…n', async () => {
    const [a, b] = [await caller(), await caller()];
    const owners = [a.test, b.live, a.live, b.test, a.test, b.live, a.test];
    // Sent in one turn of the event loop: they share a transaction.
    const made = await Promise.all(
      owners.map((auth, i) => customers.createCustomer(deps, auth, { email: `b${i}@example.com` }, ORIGIN)),
    );
    for (const [auth, expected] of [
      [a, { test: 3, live: 1 }],
      [b, { test: 1, live: 2 }],
    ] as const) {
      const rows = await events(auth.test.accountId);
      for (const mode of ['test', 'live'] as const) {
        assert.deepEqual(
          rows.filter((r) => r.mode === mode).map((r) => r.sequence),
          Array.from({ length: expected[mode] }, (_, i) => i + 1),
        );
      }
    }
    const ids = new Set((await events(a.test.accountId)).map((r) => r.object_id));
    for (const [i, customer] of made.entries()) {
      if (owners[i]?.accountId === a.test.accountId) assert.ok(ids.has(customer.id));
    }
  });

  test('update and delete of one customer in one batch: both events, neither holds personal data', async () => {
    const { test: auth } = await caller();
    const created = await customers.createCustomer(
      deps,
      auth,
      {
        email: 'same-batch@example.com',
        phone: '+1000',
      },
      ORIGIN,
    );
    const [updated, deleted] = await Promise.all([
      customers.updateCustomer(deps, auth, created.id, { phone: '+1999', first_name: 'Batchy' }, ORIGIN),
      customers.deleteCustomer(deps, auth, created.id, ORIGIN),
    ]);
    assert.equal(updated.phone, '+1999');
    assert.equal(deleted.deleted, true);
    const rows = await events(auth.accountId);
    assert.deepEqual(
      rows.map((r) => [r.sequence, r.type]),
      [
        [1, 'customer.created'],
        [2, 'customer.updated'],
        [3, 'customer.deleted'],
      ],
    );
    const stub = JSON.stringify({ object: { id: created.id, object: 'customer', deleted: true } });
    for (const row of rows) assert.equal(row.data, stub);
  });

  test('inside a batch the events wait for COMMIT; a batch that rolls back leaves none', async () => {
    const { test: auth } = await caller();
    const customer = {
      ...customerRow(newId('cus'), auth.accountId, 'x@example.com', auth.mode),
      version: 1,
    };
    const seen = await fresh.db.write(async (trx, batch) => {
      await writeCustomerEvent(trx, { type: 'created', customer, origin: ORIGIN }, batch);
      return trx.selectFrom('events').select('id').where('account_id', '=', auth.accountId).execute();
    });
    assert.deepEqual(seen, [], 'not written until the batch is done');
    assert.equal((await events(auth.accountId)).length, 1);
    await assert.rejects(
      fresh.db.write(async (trx, batch) => {
        await writeCustomerEvent(trx, { type: 'deleted', customer, origin: ORIGIN }, batch);
        throw new Error('refused');
      }),
      /refused/,
    );
    assert.equal((await events(auth.accountId)).length, 1);
    // Outside group commit nothing is held back: the event is written at once.
    await fresh.db.kysely.transaction().execute(async (trx) => {
      await writeCustomerEvent(trx, {
        type: 'created',
        customer: { ...customer, id: newId('cus') },
        origin: ORIGIN,
      });
      const rows = await trx
        .selectFrom('events')
        .select('id')
        .where('account_id', '=', auth.accountId)
        .execute();
      assert.equal(rows.length, 2);
    });
  });

  test('a batch of creates is BEGIN, one statement and COMMIT on PostgreSQL', async () => {
    const { test: auth } = await caller();
    // The same database through a Kysely that notes every statement it sends.
    const sent: string[] = [];
    const dialectOf =
      dialect === 'postgres'
        ? new PostgresDialect({ pool: new pg.Pool({ connectionString: fresh.url, max: 1 }) })
        : new SqliteDialect({ database: new BetterSqlite((fresh.config as { path: string }).path) });
    const noted = new Kysely<Database>({
      dialect: dialectOf,
      log: (event) => {
        if (event.level === 'query') sent.push(event.query.sql.trim().split(/\s+/).slice(0, 3).join(' '));
      },
    });
    try {
      const groupCommit = new GroupCommit(noted, { concurrency: 1 });
      const counted: customers.CustomerDeps = {
        db: { ...fresh.db, write: (fn, options) => groupCommit.run(fn, options) },
        hooks: [writeCustomerEvent],
      };
      const made = await Promise.all(
        // Four: one statement of four rows per table (five would be four and one).
        Array.from({ length: 4 }, (_, i) =>
          customers.createCustomer(counted, auth, { email: `one-${i}@example.com` }, ORIGIN),
        ),
      );
      assert.deepEqual(
        sent,
        dialect === 'postgres'
          ? ['begin', 'with held_0 as', 'commit']
          : [
              'begin',
              'insert into "customers"',
              'insert into "customer_search"',
              'insert into event_sequences',
              'insert into "events"',
              'commit',
            ],
      );
      const stored = await events(auth.accountId);
      assert.deepEqual(
        stored.map((e) => [e.sequence, e.type, e.object_id]),
        made.map((customer, i) => [i + 1, 'customer.created', customer.id]),
      );
      for (const customer of made) {
        const search = await fresh.db.kysely
          .selectFrom('customer_search')
          .select('email')
          .where('customer_id', '=', customer.id)
          .executeTakeFirst();
        assert.equal(search?.email, customer.email, 'the search row went in with the customer');
      }
      // Without events to take them, the held inserts are one statement of their own.
      sent.length = 0;
      await customers.createCustomer({ ...counted, hooks: [] }, auth, { email: 'alone@example.com' }, ORIGIN);
      assert.deepEqual(
        sent,
        dialect === 'postgres'
          ? ['begin', 'with held_0 as', 'commit']
          : ['begin', 'insert into "customers"', 'insert into "customer_search"', 'commit'],
      );
    } finally {
      await noted.destroy();
    }
  });
});
