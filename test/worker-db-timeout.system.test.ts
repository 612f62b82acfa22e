import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type FreshDatabase, freshDatabase } from './helpers/harness.js';
import { type Spawned, spawnEntry } from './helpers/processes.js';
import { waitFor } from './helpers/receiver.js';
import { startPostgresProxy, type TcpProxy, throughProxy } from './helpers/tcp-proxy.js';

/**
 * `npm run worker` honours LUNIPAY_DB_QUERY_TIMEOUT_MS as the server does (db-outage.test.ts):
 * behind a partition (the proxy holds every byte, refuses nothing) a query on a connection the
 * worker already has would otherwise wait as long as the network does. New connections are
 * bounded anyway, by the pool's 5 s connection timeout, so the test looks for the query timeout's
 * own error, well before that.
 */

const PG_URL = process.env.LUNIPAY_TEST_DATABASE_URL;
const QUERY_TIMEOUT_MS = 500;
/** The worker polls every second: its next query starts within that, then times out. */
const FAILS_WITHIN_MS = 1000 + QUERY_TIMEOUT_MS + 2500;

interface LogLine {
  msg?: string;
  err?: { message?: string };
}

const lines = (worker: Spawned): LogLine[] =>
  worker
    .stdout()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);

describe('the worker on a partitioned PostgreSQL', {
  skip: PG_URL ? false : 'LUNIPAY_TEST_DATABASE_URL is not set',
}, () => {
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

  test('its queries fail after the query timeout instead of hanging, and it stops cleanly once healed', async () => {
    const proxied = throughProxy(fresh.url, proxy);
    const worker = spawnEntry('worker', [], {
      LUNIPAY_DATABASE_URL: proxied,
      LUNIPAY_DB_QUERY_TIMEOUT_MS: String(QUERY_TIMEOUT_MS),
      LUNIPAY_LOG_LEVEL: 'info',
    });
    try {
      await waitFor(
        () => lines(worker).some((l) => l.msg === 'stripe worker started'),
        20_000,
        () => 'started',
      );
      // A couple of polls, so the worker's loops hold open connections.
      await sleep(1500);
      const accepted = proxy.accepted;
      const partitionedAt = Date.now();
      proxy.partition();
      const timedOut = () =>
        lines(worker).some(
          (l) =>
            l.msg === 'stripe worker could not reach the job queue' &&
            l.err?.message === 'Query read timeout',
        );
      await waitFor(timedOut, FAILS_WITHIN_MS, () => `a query timeout logged: ${worker.stdout()}`);
      const failedAfter = Date.now() - partitionedAt;
      assert.ok(accepted > 0, 'the worker went through the proxy');
      await proxy.restore();
      worker.child.kill('SIGTERM');
      const exit = await Promise.race([worker.exited, sleep(15_000).then(() => 'still running' as const)]);
      assert.equal(exit === 'still running' ? exit : exit.code, 0, worker.stderr());
      assert.ok(failedAfter < FAILS_WITHIN_MS, `failed after ${failedAfter} ms`);
    } finally {
      worker.child.kill('SIGKILL');
      await proxy.restore();
    }
  });
});
