import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type FreshDatabase, forEachDatabase, freshDatabase } from '../../test/helpers/harness.js';
import type { Mode } from '../db/schema.js';
import { newId } from '../ids.js';
import { API_VERSION } from './events.schema.js';
import { insertEvents, type NewEvent } from './events.store.js';

/** The sequence counters alone: per account and mode, 1…n in commit order, nothing lost or repeated. */

const event = (accountId: string, mode: Mode = 'test'): NewEvent => ({
  id: newId('evt'),
  account_id: accountId,
  mode,
  type: 'customer.created',
  object_id: newId('cus'),
  created: Math.floor(Date.now() / 1000),
  api_version: API_VERSION,
  data: '{}',
  request_id: null,
  idempotency_key: null,
  source: 'api',
});

forEachDatabase('event sequences', (dialect) => {
  let fresh: FreshDatabase;
  before(async () => {
    fresh = await freshDatabase(dialect);
  });
  after(() => fresh.drop());

  const sequences = async (accountId: string, mode: Mode = 'test') =>
    (
      await fresh.db.kysely
        .selectFrom('events')
        .select(['id', 'sequence'])
        .where('account_id', '=', accountId)
        .where('mode', '=', mode)
        .orderBy('sequence')
        .execute()
    ).map((r) => r.sequence);
  const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

  test('one batch of several accounts and modes: each numbered on, in the order given', async () => {
    const [a, b] = [newId('acct'), newId('acct')];
    const batch = [event(b), event(a), event(a, 'live'), event(b), event(a), event(b, 'live')];
    await fresh.db.kysely.transaction().execute((trx) => insertEvents(trx, batch));
    await fresh.db.kysely.transaction().execute((trx) => insertEvents(trx, [event(a), event(b)]));
    assert.deepEqual(await sequences(a), [1, 2, 3]);
    assert.deepEqual(await sequences(a, 'live'), [1]);
    assert.deepEqual(await sequences(b), [1, 2, 3]);
    assert.deepEqual(await sequences(b, 'live'), [1]);
    const order = await fresh.db.kysely
      .selectFrom('events')
      .select(['id', 'sequence'])
      .where('account_id', '=', b)
      .where('mode', '=', 'test')
      .orderBy('sequence')
      .execute();
    assert.deepEqual(
      order.slice(0, 2).map((r) => r.id),
      [batch[0]?.id, batch[3]?.id],
    );
  });

  test('a transaction that rolls back gives its numbers back', async () => {
    const a = newId('acct');
    await fresh.db.kysely.transaction().execute((trx) => insertEvents(trx, [event(a)]));
    await assert.rejects(
      fresh.db.kysely.transaction().execute(async (trx) => {
        await insertEvents(trx, [event(a), event(a)]);
        throw new Error('roll back');
      }),
      /roll back/,
    );
    await fresh.db.kysely.transaction().execute((trx) => insertEvents(trx, [event(a)]));
    assert.deepEqual(await sequences(a), [1, 2]);
  });

  test('group commit: a write that fails its batch leaves no gap', async () => {
    const a = newId('acct');
    const writes = Array.from({ length: 12 }, (_, i) =>
      fresh.db.write(async (trx) => {
        await insertEvents(trx, [event(a)]);
        if (i % 5 === 2) throw new Error(`write ${i} fails`);
        return i;
      }),
    );
    const outcomes = await Promise.allSettled(writes);
    const failed = outcomes.filter((o) => o.status === 'rejected').length;
    assert.equal(failed, 2);
    assert.deepEqual(await sequences(a), range(10));
  });

  test('concurrent transactions: a reader never sees a sequence before every smaller one', async () => {
    const a = newId('acct');
    const WRITERS = 6;
    const ROUNDS = 15;
    let writing = true;
    let committed = 0;
    const violations: string[] = [];
    let reads = 0;
    // Polls as a feed consumer does: every sequence it sees must follow the last without a gap.
    const reader = (async () => {
      let last = 0;
      const deadline = Date.now() + 60_000;
      while ((writing || last < committed) && Date.now() < deadline) {
        const seen = (
          await fresh.db.reader
            .selectFrom('events')
            .select('sequence')
            .where('account_id', '=', a)
            .where('mode', '=', 'test')
            .where('sequence', '>', last)
            .orderBy('sequence')
            .execute()
        ).map((r) => r.sequence);
        reads++;
        for (const s of seen) {
          if (s !== last + 1) violations.push(`saw ${s} after ${last}`);
          last = s;
        }
        await sleep(1);
      }
      return last;
    })();
    await Promise.all(
      Array.from({ length: WRITERS }, async (_, w) => {
        for (let r = 0; r < ROUNDS; r++) {
          const n = 1 + ((w + r) % 3);
          const fails = (w * ROUNDS + r) % 7 === 3;
          await fresh.db.kysely
            .transaction()
            .execute(async (trx) => {
              await insertEvents(
                trx,
                Array.from({ length: n }, () => event(a)),
              );
              // Hold the counter a while, so other writers queue behind it.
              await sleep(2);
              if (fails) throw new Error('roll back');
            })
            .then(
              () => {
                committed += n;
              },
              (error: Error) => assert.equal(error.message, 'roll back'),
            );
        }
      }),
    );
    writing = false;
    const last = await reader;
    assert.deepEqual(violations, []);
    assert.equal(last, committed);
    assert.deepEqual(await sequences(a), range(committed));
    assert.ok(reads > 1);
  });
});
