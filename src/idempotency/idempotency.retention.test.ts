import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { forEachDatabase, useHarness } from '../../test/helpers/harness.js';
import { ConfigError, loadConfig } from '../config.js';
import { HeldWrites } from '../db/held-writes.js';
import { prune } from './idempotency.service.js';
import * as store from './idempotency.store.js';
import { startSweeper } from './idempotency.sweeper.js';

const DAY = 24 * 3600;
const nowSeconds = () => Math.floor(Date.now() / 1000);

forEachDatabase('Idempotency retention', (dialect) => {
  const { h, acct } = useHarness(dialect);

  const post = (key: string, email: string) =>
    h.request('POST', '/v1/customers', {
      key: acct.test,
      json: { email },
      headers: { 'idempotency-key': key },
    });
  const keys = async () =>
    (await h.db.kysely.selectFrom('idempotency_keys').select('key').orderBy('key').execute()).map(
      (r) => r.key,
    );
  const age = (key: string, seconds: number) =>
    h.db.kysely
      .updateTable('idempotency_keys')
      .set({ created: nowSeconds() - seconds })
      .where('key', '=', key)
      .execute();
  const inFlight = (key: string, createdAgo: number, leaseExpiresMs: number) =>
    h.db.kysely.transaction().execute((trx) =>
      store.inFlightInserts.flush(
        trx,
        [
          {
            account_id: acct.id,
            mode: 'test',
            key,
            method: 'POST',
            path: '/v1/customers',
            params_hash: 'x',
            lease_token: `token-${key}`,
            lease_expires_ms: leaseExpiresMs,
            created: nowSeconds() - createdAgo,
          },
        ],
        new HeldWrites(),
      ),
    );

  test('records 24 hours old are pruned; younger ones and live leases are kept', async () => {
    await post('a-day-old', 'day@example.com');
    await post('almost-a-day', 'almost@example.com');
    await age('a-day-old', DAY);
    await age('almost-a-day', DAY - 60);
    await inFlight('old-live-lease', 2 * DAY, Date.now() + 60_000);
    await inFlight('old-dead-lease', 2 * DAY, Date.now() - 1);

    assert.equal(await prune(h.db, 24), 2);
    assert.deepEqual(await keys(), ['almost-a-day', 'old-live-lease']);

    // A pruned key is free again: the same request now runs as a new one.
    const fresh = await post('a-day-old', 'day@example.com');
    assert.equal(fresh.status, 200);
    assert.equal(fresh.headers['idempotent-replayed'], undefined);
    assert.equal(await prune(h.db, 24), 0);
  });

  test('pruning works through many records in batches', async () => {
    const rows = Array.from({ length: 2500 }, (_, i) => ({
      account_id: acct.id,
      mode: 'test' as const,
      key: `bulk-${i}`,
      method: 'POST',
      path: '/v1/customers',
      params_hash: 'x',
      state: 'done' as const,
      lease_token: null,
      lease_expires_ms: null,
      status: 200,
      body: '{}',
      customer_id: null,
      created: nowSeconds() - 2 * DAY,
    }));
    for (let i = 0; i < rows.length; i += 500) {
      await h.db.kysely
        .insertInto('idempotency_keys')
        .values(rows.slice(i, i + 500))
        .execute();
    }
    assert.equal(await prune(h.db, 24), 2500);
    assert.equal((await keys()).filter((k) => k.startsWith('bulk-')).length, 0);
  });

  test('the sweeper prunes on its own, and stops cleanly', async () => {
    await inFlight('swept', 2 * DAY, Date.now() - 1);
    const logged: string[] = [];
    const log = {
      info: (_: unknown, m?: string) => logged.push(m ?? ''),
      warn: (_: unknown, m?: string) => logged.push(m ?? ''),
    };
    const sweeper = startSweeper(h.db, { retentionHours: 24, sweepSeconds: 1 }, log);
    try {
      for (let waited = 0; (await keys()).includes('swept') && waited < 5000; waited += 100) await sleep(100);
    } finally {
      await sweeper.stop();
    }
    assert.ok(!(await keys()).includes('swept'));
    assert.deepEqual(logged, ['pruned expired idempotency keys']);
    await startSweeper(h.db, { retentionHours: 24, sweepSeconds: 0 }, log).stop();
  });
});

describe('Idempotency configuration', () => {
  test('defaults: 30 s leases, kept 24 hours, swept every 10 minutes', () => {
    assert.deepEqual(loadConfig({}).idempotency, { leaseMs: 30_000, retentionHours: 24, sweepSeconds: 600 });
    assert.deepEqual(
      loadConfig({
        LUNIPAY_IDEMPOTENCY_LEASE_MS: '250',
        LUNIPAY_IDEMPOTENCY_RETENTION_HOURS: '48',
        LUNIPAY_IDEMPOTENCY_SWEEP_SECONDS: '0',
      }).idempotency,
      { leaseMs: 250, retentionHours: 48, sweepSeconds: 0 },
    );
  });

  test('bad values stop the start with a message naming the variable', () => {
    for (const [name, value] of [
      ['LUNIPAY_IDEMPOTENCY_LEASE_MS', '50'],
      ['LUNIPAY_IDEMPOTENCY_LEASE_MS', '1.5'],
      ['LUNIPAY_IDEMPOTENCY_RETENTION_HOURS', '23'],
      ['LUNIPAY_IDEMPOTENCY_RETENTION_HOURS', 'day'],
      ['LUNIPAY_IDEMPOTENCY_SWEEP_SECONDS', '-1'],
      ['LUNIPAY_IDEMPOTENCY_SWEEP_SECONDS', '86401'],
    ] as const) {
      assert.throws(
        () => loadConfig({ [name]: value }),
        (error: unknown) => error instanceof ConfigError && error.message.startsWith(name),
        `${name}=${value}`,
      );
    }
  });
});
