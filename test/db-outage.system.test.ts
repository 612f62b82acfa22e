import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as accounts from '../src/accounts/accounts.service.js';
import { type FreshDatabase, freshDatabase } from './helpers/harness.js';
import { type ServerProcess, startServer } from './helpers/processes.js';
import { startPostgresProxy, type TcpProxy, throughProxy } from './helpers/tcp-proxy.js';
import { send, WriteTracker } from './helpers/writes.js';

/**
 * The database going away under load. PostgreSQL is reached through a TCP proxy that the test
 * cuts and restores (the machine's PostgreSQL keeps running: other tests use it). The server is a
 * process of its own, so "no crash" means the process is still there. SQLite locked by another
 * process: unavailable.test.ts covers one request; here it is under load, with the lock held by
 * another process.
 */

const PG_URL = process.env.LUNIPAY_TEST_DATABASE_URL;
/** Long enough that a request waiting out the partition would show; queries give up after QUERY_TIMEOUT_MS. */
const PARTITION_MS = 8000;
const QUERY_TIMEOUT_MS = 1500;
/**
 * A request in a partition ends by then. Not one timeout: a write waits while the batches ahead
 * of it wait for a connection (pg's 5 s connection timeout), then its own batch waits for one,
 * so up to two connection timeouts (a 10 s partition showed writes answering after 9.1 s), plus
 * slack for a busy machine. Shorter than that is an open item (see SECURITY.md).
 */
const PARTITION_ANSWER_WITHIN_MS = 2 * 5000 + 2000;
const LOCK_MS = 6000;

interface Sample {
  kind: 'write' | 'read' | 'health';
  start: number;
  end: number;
  status: number | 'no answer';
  body: unknown;
}

/** Runs reads, health checks and tracked writes in a loop until stopped, recording every answer. */
function startLoad(
  server: ServerProcess,
  apiKey: string,
  writes: WriteTracker,
  options: { writers: number; readers: number },
) {
  const samples: Sample[] = [];
  let stopped = false;
  const get = async (kind: Sample['kind'], path: string) => {
    const start = Date.now();
    try {
      const res = await fetch(`${server.url}${path}`, {
        headers: kind === 'health' ? {} : { authorization: `Bearer ${apiKey}` },
        signal: AbortSignal.timeout(30_000),
      });
      samples.push({ kind, start, end: Date.now(), status: res.status, body: await res.json() });
    } catch {
      samples.push({ kind, start, end: Date.now(), status: 'no answer', body: null });
    }
  };
  const writer = async (w: number) => {
    while (!stopped) {
      const write = writes.next(w);
      const start = Date.now();
      const outcome = await send(server.url, apiKey, write);
      writes.record(w, write, outcome, [503]);
      samples.push({
        kind: 'write',
        start,
        end: Date.now(),
        status: outcome === 'no answer' ? outcome : outcome.status,
        body: outcome === 'no answer' ? null : outcome.body,
      });
      // Not a tight loop while everything fails fast.
      if (outcome === 'no answer' || outcome.status !== 200) await sleep(20);
    }
  };
  const reader = async (r: number) => {
    while (!stopped) {
      await get(r % 3 === 0 ? 'health' : 'read', r % 3 === 0 ? '/healthz' : '/v1/customers?limit=5');
      await sleep(10);
    }
  };
  const running = Promise.all([
    ...Array.from({ length: options.writers }, (_, w) => writer(w)),
    ...Array.from({ length: options.readers }, (_, r) => reader(r)),
  ]);
  return {
    samples,
    async stop() {
      stopped = true;
      await running;
    },
  };
}

function assertUnavailable(sample: Sample): void {
  const label = JSON.stringify(sample);
  assert.equal(sample.status, 503, label);
  const body = sample.body as { error: Record<string, unknown> };
  assert.deepEqual(Object.keys(body), ['error'], label);
  assert.equal(body.error.type, 'api_error', label);
  assert.equal(body.error.code, 'service_unavailable', label);
  assert.doesNotMatch(
    JSON.stringify(body),
    /ECONN|127\.0\.0\.1|5432|terminated|timeout exceeded|SQLITE/,
    label,
  );
}

const alive = async (server: ServerProcess) =>
  (await Promise.race([server.exited.then(() => false), sleep(10).then(() => true)])) as boolean;

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await check().catch(() => false)) return Date.now() - started;
    await sleep(25);
  }
  throw new Error(`not recovered within ${timeoutMs} ms`);
}

/** Every request got an answer, and every answer but a 200 is the 503 of an unavailable database. */
function assertAnsweredOr503(samples: Sample[]): void {
  for (const s of samples) {
    assert.notEqual(s.status, 'no answer', `a request got no answer: ${JSON.stringify(s)}`);
    if (s.status !== 200) assertUnavailable(s);
  }
}

const count = (list: Sample[], status: number) => list.filter((s) => s.status === status).length;

describe('PostgreSQL going away under load', {
  skip: PG_URL ? false : 'LUNIPAY_TEST_DATABASE_URL is not set',
}, () => {
  let fresh: FreshDatabase;
  let proxy: TcpProxy;
  let server: ServerProcess;
  let apiKey: string;
  before(async () => {
    fresh = await freshDatabase('postgres');
    apiKey = (await accounts.createAccount(fresh.db, { name: 'Outage shop', stripeAccountId: null })).keys
      .test.secret;
    proxy = await startPostgresProxy(PG_URL as string);
    const proxied = throughProxy(fresh.url, proxy);
    server = await startServer({
      LUNIPAY_DATABASE_URL: proxied,
      LUNIPAY_LOG_LEVEL: 'info',
      LUNIPAY_DB_QUERY_TIMEOUT_MS: String(QUERY_TIMEOUT_MS),
    });
  });
  after(async () => {
    await server?.kill('SIGTERM');
    await proxy?.close();
    await fresh?.drop();
  });

  const healthy = async () => (await fetch(`${server.url}/healthz`)).status === 200;
  const writeWorks = async () =>
    (await fetch(`${server.url}/v1/customers?limit=1`, { headers: { authorization: `Bearer ${apiKey}` } }))
      .status === 200;

  /**
   * Load, then `fault` for `ms`, then the proxy restored: the server stays up throughout and
   * recovers by itself; every request is answered, with a 200 or the unavailable 503.
   */
  async function underLoad(fault: () => unknown, ms: number) {
    const writes = new WriteTracker();
    const load = startLoad(server, apiKey, writes, { writers: 8, readers: 4 });
    let faultAt: number;
    let healedAt: number;
    let recoveryMs: number;
    let recoveredAt: number;
    try {
      await sleep(800);
      faultAt = Date.now();
      await fault();
      await sleep(ms);
      assert.ok(await alive(server), 'the server process is still running during the outage');
      healedAt = Date.now();
      await proxy.restore();
      recoveryMs = await waitFor(async () => (await healthy()) && (await writeWorks()), 15_000);
      recoveredAt = Date.now();
      await sleep(1000);
    } finally {
      await proxy.restore();
      await load.stop();
    }
    assert.ok(await alive(server), 'the server process is still running');
    assertAnsweredOr503(load.samples);
    return { writes, samples: load.samples, faultAt, healedAt, recoveryMs, recoveredAt };
  }

  test('stopped: every request a quick 503, no crash, full recovery, nothing acknowledged lost', async (t) => {
    const {
      writes,
      samples,
      faultAt: cutAt,
      healedAt: restoredAt,
      recoveryMs,
      recoveredAt,
    } = await underLoad(() => proxy.cut(), 2500);
    // Started after the cut (a moment for requests already past the database) and done before the restore.
    const during = samples.filter((s) => s.start > cutAt + 50 && s.end < restoredAt);
    assert.ok(during.length > 20, `requests were made during the outage: ${during.length}`);
    for (const s of during) assertUnavailable(s);
    const slowest = Math.max(...during.map((s) => s.end - s.start));
    assert.ok(
      slowest < 2000,
      `503s come quickly while the database refuses connections: slowest ${slowest} ms`,
    );
    const afterwards = samples.filter((s) => s.start > recoveredAt + 100);
    assert.ok(afterwards.length > 20);
    for (const s of afterwards) assert.equal(s.status, 200, `after recovery: ${JSON.stringify(s)}`);

    const strays = await writes.verifyAll(server.url, apiKey, fresh.db);
    t.diagnostic(
      `cut for ${restoredAt - cutAt} ms: ${samples.length} requests (${count(samples, 200)}×200, ` +
        `${count(samples, 503)}×503, nothing else); during the outage ${during.length} requests, all 503, ` +
        `slowest ${slowest} ms; recovered ${recoveryMs} ms after the restore, then ${afterwards.length} requests all 200; ` +
        `${writes.summary()}; 503'd creates that committed anyway: ${strays}`,
    );
  });

  // A write answered 503 here may have committed (its COMMIT reached PostgreSQL before the
  // partition, only the answer was lost) but never commits later: see idleInTransactionMs in
  // src/db/postgres.ts, and the COMMIT case below. The tracker checks that the last acknowledged
  // update of every customer is what is stored, unacknowledged ones at most added after it.
  test('partitioned (nothing answers, nothing refused): 503s, no hang, no crash, recovery once healed, nothing lost', async (t) => {
    const {
      writes,
      samples,
      faultAt: partitionedAt,
      healedAt,
      recoveryMs,
      recoveredAt,
    } = await underLoad(() => proxy.partition(), PARTITION_MS);
    const during = samples.filter((s) => s.start >= partitionedAt && s.start < healedAt);
    const slowest = Math.max(...samples.map((s) => s.end - s.start));
    // Nothing hangs: every request is answered within two connection timeouts.
    const slow = samples.find((s) => s.end - s.start === slowest);
    assert.ok(slowest < PARTITION_ANSWER_WITHIN_MS, `a request took ${slowest} ms: ${JSON.stringify(slow)}`);
    // Every request sent after the partition began and answered before it healed is a 503: it
    // could not reach the database. One sent before it began may still answer 200 however late
    // the answer comes (on a busy machine, well after the cut): its queries were answered before
    // it, and the final state (checked below) is what tells whether that was right.
    const met = samples.filter((s) => s.end > partitionedAt && s.end < healedAt);
    assert.ok(met.length > 10, `requests answered during the partition: ${met.length}`);
    for (const s of met) if (s.start > partitionedAt) assertUnavailable(s);
    const edge = samples.filter((s) => s.start <= partitionedAt && s.end > partitionedAt);
    const afterwards = samples.filter((s) => s.start > recoveredAt + 100);
    for (const s of afterwards) assert.equal(s.status, 200, `after recovery: ${JSON.stringify(s)}`);
    const strays = await writes.verifyAll(server.url, apiKey, fresh.db);
    t.diagnostic(
      `partitioned for ${healedAt - partitionedAt} ms: ${samples.length} requests (${count(samples, 200)}×200, ` +
        `${count(samples, 503)}×503); started during the partition ${during.length} (${count(during, 200)}×200 once healed, ` +
        `${count(during, 503)}×503), all answered within ${slowest} ms (query timeout ${QUERY_TIMEOUT_MS} ms); ` +
        `in flight at the cut ${edge.length} (${count(edge, 200)}×200, ${count(edge, 503)}×503); ` +
        `recovered ${recoveryMs} ms after healing; ${writes.summary()}; 503'd creates that committed anyway: ${strays}`,
    );
  });
});

describe('SQLite locked by another process under load', () => {
  let fresh: FreshDatabase;
  let server: ServerProcess;
  let apiKey: string;
  before(async () => {
    fresh = await freshDatabase('sqlite');
    apiKey = (await accounts.createAccount(fresh.db, { name: 'Lock shop', stripeAccountId: null })).keys.test
      .secret;
    server = await startServer({ LUNIPAY_DATABASE_URL: fresh.url, LUNIPAY_LOG_LEVEL: 'info' });
  });
  after(async () => {
    await server?.kill('SIGTERM');
    await fresh?.drop();
  });

  test('writes get a clear 503 after the busy timeout, never a hang; all recover when the lock goes', async (t) => {
    const writes = new WriteTracker();
    const load = startLoad(server, apiKey, writes, { writers: 4, readers: 2 });
    let lockedAt: number;
    let releasedAt: number;
    let recoveredAt: number;
    try {
      await sleep(500);
      // Another process takes the write lock and keeps it past the server's 5 s busy timeout.
      const locker = spawn(
        process.execPath,
        [
          '-e',
          `const db = new (require('better-sqlite3'))(process.argv[1]);
           db.exec('BEGIN EXCLUSIVE'); process.stdout.write('locked\\n');
           setTimeout(() => { db.exec('ROLLBACK'); db.close(); }, ${LOCK_MS});`,
          (fresh.config as { path: string }).path,
        ],
        { cwd: new URL('..', import.meta.url).pathname, stdio: ['ignore', 'pipe', 'inherit'] },
      );
      await once(locker.stdout, 'data');
      lockedAt = Date.now();
      await once(locker, 'exit');
      releasedAt = Date.now();
      await waitFor(async () => (await fetch(`${server.url}/healthz`)).status === 200, 15_000);
      recoveredAt = Date.now();
      await sleep(1000);
    } finally {
      await load.stop();
    }
    assert.ok(await alive(server), 'the server process is still running');
    const { samples } = load;
    assertAnsweredOr503(samples);
    const refused = samples.filter((s) => s.status === 503);
    assert.ok(refused.length > 0, 'writes were refused while the lock was held');
    assert.ok(
      refused.every((s) => s.kind === 'write'),
      'only writes need the lock',
    );
    const slowest = Math.max(...samples.map((s) => s.end - s.start));
    // At worst a request waits for the lock to go, plus one busy timeout (5 s) of a write ahead of it.
    assert.ok(slowest < LOCK_MS + 5000 + 2000, `slowest ${slowest} ms`);
    const afterwards = samples.filter((s) => s.start > recoveredAt + 100);
    assert.ok(afterwards.length > 10);
    for (const s of afterwards) assert.equal(s.status, 200, `after the lock: ${JSON.stringify(s)}`);
    await writes.verifyAll(server.url, apiKey, fresh.db);
    const during = samples.filter((s) => s.start >= lockedAt && s.start < releasedAt);
    t.diagnostic(
      `locked for ${releasedAt - lockedAt} ms by another process: ${samples.length} requests ` +
        `(${samples.filter((s) => s.status === 200).length}×200, ${refused.length}×503, all 503s writes); ` +
        `started during the lock ${during.length}; slowest ${slowest} ms; ${writes.summary()}`,
    );
  });
});
