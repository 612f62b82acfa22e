import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import SQLite from 'better-sqlite3';
import { runCli, startServer } from './helpers/processes.js';

const tmpDb = () => join(tmpdir(), `lunipay-server-${process.pid}-${Date.now()}.sqlite`);
const cleanup = (path: string) => {
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
};

test('the server says once how to create the first account, and not when one exists', async () => {
  const path = tmpDb();
  try {
    const first = await startServer({ LUNIPAY_DATABASE_URL: `sqlite:${path}` });
    await first.kill('SIGTERM');
    assert.equal((await first.exited).code, 0);
    assert.equal(first.output().match(/accounts create/g)?.length, 1, first.output());

    const created = await runCli(['accounts', 'create', '--name', 'Shop', '--json'], {
      LUNIPAY_DATABASE_URL: `sqlite:${path}`,
    });
    assert.equal(created.code, 0);
    const second = await startServer({ LUNIPAY_DATABASE_URL: `sqlite:${path}` });
    await second.kill('SIGTERM');
    assert.equal((await second.exited).code, 0);
    assert.doesNotMatch(second.output(), /accounts create/);
  } finally {
    cleanup(path);
  }
});

test('SIGTERM lets an in-flight request finish, then exits 0', async () => {
  const path = tmpDb();
  try {
    const env = { LUNIPAY_DATABASE_URL: `sqlite:${path}` };
    const { keys } = JSON.parse(
      (await runCli(['accounts', 'create', '--name', 'Shop', '--json'], env)).stdout,
    );
    // Nothing else in the process writes: better-sqlite3 waits for a lock synchronously, so a
    // worker's, a sweep's or the search upkeep's write stuck behind the lock below would hold
    // the event loop, and whether the request or the signal is read first after it would be
    // left to chance.
    const server = await startServer({
      ...env,
      LUNIPAY_WORKER: 'false',
      LUNIPAY_IDEMPOTENCY_SWEEP_SECONDS: '0',
      LUNIPAY_EVENT_SWEEP_SECONDS: '0',
      LUNIPAY_SEARCH_UPKEEP_SECONDS: '0',
    });
    // Another connection holds the write lock, so the create below waits inside the server.
    const other = new SQLite(path);
    other.exec('BEGIN IMMEDIATE');
    const pending = fetch(`${server.url}/v1/customers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys.test}`, 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'inflight@example.com' }),
    });
    await new Promise((r) => setTimeout(r, 300));
    server.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    other.exec('COMMIT');
    other.close();
    const res = await pending;
    assert.equal(res.status, 200);
    assert.equal((await res.json()).email, 'inflight@example.com');
    assert.equal((await server.exited).code, 0);
    const check = new SQLite(path, { readonly: true });
    assert.equal((check.prepare('select count(*) as n from customers').get() as { n: number }).n, 1);
    check.close();
  } finally {
    cleanup(path);
  }
});

test('a bad configuration value stops the server with one line naming the variable', async () => {
  await assert.rejects(
    startServer({ LUNIPAY_DATABASE_URL: 'mysql://x', PORT: '4242' }),
    /LUNIPAY_DATABASE_URL/,
  );
  await assert.rejects(startServer({ LUNIPAY_LOG_LEVEL: 'loud' }), /LUNIPAY_LOG_LEVEL/);
});
