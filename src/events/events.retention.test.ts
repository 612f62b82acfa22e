import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { forEachDatabase, useHarness } from '../../test/helpers/harness.js';
import { ConfigError, loadConfig } from '../config.js';
import { firstIdAt, newId } from '../ids.js';
import { API_VERSION } from './events.schema.js';
import { pruneEvents } from './events.service.js';
import { startEventSweeper } from './events.sweeper.js';

const DAY_MS = 86_400_000;

forEachDatabase('Event retention', (dialect) => {
  const { h, acct } = useHarness(dialect);

  const count = async () =>
    Number(
      (
        await h.db.kysely
          .selectFrom('events')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('account_id', '=', acct.id)
          .executeTakeFirstOrThrow()
      ).n,
    );
  /** Events made `daysAgo` days ago, written straight to the table (their ids carry their time). */
  const old = async (n: number, daysAgo: number, firstSequence: number, mode: 'test' | 'live' = 'live') => {
    const at = Date.now() - daysAgo * DAY_MS;
    const base = firstIdAt('evt', at).slice(0, -5);
    const rows = Array.from({ length: n }, (_, i) => ({
      id: `${base}${String(i).padStart(5, '0')}`,
      account_id: acct.id,
      mode,
      sequence: firstSequence + i,
      type: 'customer.created' as const,
      object_id: newId('cus'),
      created: Math.floor(at / 1000),
      api_version: API_VERSION,
      data: '{}',
      request_id: null,
      idempotency_key: null,
      source: 'api' as const,
    }));
    for (let i = 0; i < rows.length; i += 500) {
      await h.db.kysely
        .insertInto('events')
        .values(rows.slice(i, i + 500))
        .execute();
    }
    // The counter insertEvents would have left: retention walks the owners it names.
    await h.db.kysely
      .insertInto('event_sequences')
      .values({ account_id: acct.id, mode, last: firstSequence + n - 1 })
      .onConflict((oc) =>
        oc.columns(['account_id', 'mode']).doUpdateSet({ last: (eb) => eb.ref('excluded.last') }),
      )
      .execute();
  };

  test('events older than the retention are pruned; younger ones are kept, and numbering goes on', async () => {
    for (const email of ['r1@example.com', 'r2@example.com']) {
      await h.request('POST', '/v1/customers', { key: acct.test, json: { email } });
    }
    assert.equal(await count(), 2);
    assert.equal(await pruneEvents(h.db, 30, Date.now() + 29 * DAY_MS), 0, 'not 30 days old yet');
    assert.equal(await count(), 2);
    assert.equal(await pruneEvents(h.db, 30, Date.now() + 31 * DAY_MS), 2);
    assert.equal(await count(), 0);
    await h.request('POST', '/v1/customers', { key: acct.test, json: { email: 'r3@example.com' } });
    const feed = await h.request('GET', '/v1/events', { key: acct.test, query: { sequence_after: 0 } });
    assert.deepEqual(
      feed.body.data.map((e: { sequence: number }) => e.sequence),
      [3],
    );
  });

  test('pruning works through many events in bounded batches', async () => {
    await old(2500, 40, 1);
    await old(3, 20, 2501);
    // Each account and mode is pruned on its own range of the key.
    await old(7, 45, 1001, 'test');
    assert.equal(await pruneEvents(h.db, 30), 2507);
    const left = await h.db.kysely
      .selectFrom('events')
      .select('sequence')
      .where('account_id', '=', acct.id)
      .where('mode', '=', 'live')
      .orderBy('sequence')
      .execute();
    assert.deepEqual(
      left.map((r) => r.sequence),
      [2501, 2502, 2503],
    );
    assert.equal(await pruneEvents(h.db, 30), 0);
  });

  test('the sweeper prunes on its own, and stops cleanly', async () => {
    await old(1, 31, 9001);
    const logged: string[] = [];
    const log = {
      info: (_: object, m: string) => logged.push(m),
      warn: (_: object, m: string) => logged.push(m),
    };
    const sweeper = startEventSweeper(h.db, { retentionDays: 30, sweepSeconds: 1 }, log);
    const sequences = async () =>
      (
        await h.db.kysely.selectFrom('events').select('sequence').where('account_id', '=', acct.id).execute()
      ).map((r) => r.sequence);
    try {
      for (let waited = 0; (await sequences()).includes(9001) && waited < 5000; waited += 100)
        await sleep(100);
    } finally {
      await sweeper.stop();
    }
    assert.ok(!(await sequences()).includes(9001));
    assert.deepEqual(logged, ['pruned events past their retention']);
    await startEventSweeper(h.db, { retentionDays: 30, sweepSeconds: 0 }, log).stop();
  });
});

describe('Event configuration', () => {
  test('defaults: kept 30 days, swept every hour', () => {
    assert.deepEqual(loadConfig({}).events, { retentionDays: 30, sweepSeconds: 3600 });
    assert.deepEqual(
      loadConfig({ LUNIPAY_EVENT_RETENTION_DAYS: '90', LUNIPAY_EVENT_SWEEP_SECONDS: '0' }).events,
      { retentionDays: 90, sweepSeconds: 0 },
    );
  });

  test('bad values stop the start with a message naming the variable', () => {
    for (const [name, value] of [
      ['LUNIPAY_EVENT_RETENTION_DAYS', '29'],
      ['LUNIPAY_EVENT_RETENTION_DAYS', '0'],
      ['LUNIPAY_EVENT_RETENTION_DAYS', '30.5'],
      ['LUNIPAY_EVENT_RETENTION_DAYS', 'month'],
      ['LUNIPAY_EVENT_SWEEP_SECONDS', '-1'],
      ['LUNIPAY_EVENT_SWEEP_SECONDS', '86401'],
    ] as const) {
      assert.throws(
        () => loadConfig({ [name]: value }),
        (error: unknown) => error instanceof ConfigError && error.message.startsWith(name),
        `${name}=${value}`,
      );
    }
  });
});
