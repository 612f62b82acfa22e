import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { isUnavailable } from '../src/db/errors.js';
import { openDatabase } from '../src/db/index.js';
import { type FreshDatabase, freshDatabase } from './helpers/harness.js';
import { startPostgresProxy, type TcpProxy, throughProxy } from './helpers/tcp-proxy.js';

const PG_URL = process.env.LUNIPAY_TEST_DATABASE_URL;

/**
 * The one statement a transaction can have in flight when its query times out, and the only one
 * whose late delivery could commit it, is COMMIT. Here COMMIT is caught in a partition
 * (deterministically: the proxy is partitioned from inside the transaction, after its last
 * statement was answered), the write is answered unavailable, and then the partition heals and
 * the buffered COMMIT reaches PostgreSQL. A write answered unavailable must not commit after that
 * answer, and must not keep its row locked while the partition lasts.
 */
describe('PostgreSQL: a COMMIT caught in a partition', {
  skip: PG_URL ? false : 'LUNIPAY_TEST_DATABASE_URL is not set',
}, () => {
  const TIMEOUT_MS = 600;
  let fresh: FreshDatabase;
  let proxy: TcpProxy;
  before(async () => {
    fresh = await freshDatabase('postgres');
    proxy = await startPostgresProxy(PG_URL as string);
  });
  after(async () => {
    await proxy?.close();
    await fresh?.drop();
  });

  test('the write answered unavailable never commits, and a later write is not held up or overwritten', async () => {
    const direct = fresh.db.kysely;
    await sql`create table partition_probe (id int primary key, v text not null)`.execute(direct);
    await sql`insert into partition_probe values (1, 'start')`.execute(direct);
    const proxied = throughProxy(fresh.url, proxy);
    const db = await openDatabase(
      { dialect: 'postgres', url: proxied },
      { poolSize: 1, queryTimeoutMs: TIMEOUT_MS },
    );
    const value = async () =>
      (await sql<{ v: string }>`select v from partition_probe where id = 1`.execute(direct)).rows[0]?.v;
    try {
      await db.ping();
      const stale = db.write(async (trx) => {
        await sql`update partition_probe set v = 'stale' where id = 1`.execute(trx);
        // Answered; Kysely sends COMMIT next, into the partition.
        proxy.partition();
      });
      await assert.rejects(stale, (error) => isUnavailable(error));
      // The client has its answer. A later write (here on a connection not behind the proxy) must
      // go through at once, not wait for the partition to heal: the stale write holds no lock.
      const later = await direct
        .transaction()
        .execute(async (trx) => {
          await sql`set local lock_timeout = '1s'`.execute(trx);
          await sql`update partition_probe set v = 'later' where id = 1`.execute(trx);
        })
        .then(
          () => 'committed',
          (error: { code?: string }) => (error.code === '55P03' ? 'blocked by the stale write' : error),
        );
      const beforeHeal = await value();
      // Healed: whatever the proxy buffered, COMMIT included, reaches PostgreSQL now.
      await proxy.restore();
      await sleep(500);
      const afterHeal = await value();
      assert.deepEqual(
        { later, beforeHeal, afterHeal },
        { later: 'committed', beforeHeal: 'later', afterHeal: 'later' },
      );
    } finally {
      await proxy.restore();
      await db.close();
    }
  });
});
