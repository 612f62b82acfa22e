import assert from 'node:assert/strict';
import { test } from 'node:test';
import SQLite from 'better-sqlite3';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/index.js';
import { startHarness } from './helpers/harness.js';

/**
 * No answer within this long is a hang: the server's SQLite busy timeout (5 s) and then some for
 * a busy machine. A bound on "never hangs", not a speed target.
 */
const HANG_MS = 5000 + 10_000;

/** `promise`, or a failure once `ms` have passed without it settling. */
async function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, hang]);
  } finally {
    clearTimeout(timer);
  }
}

test('PostgreSQL unreachable: 503 service_unavailable, and the process keeps serving', async () => {
  // Port 1 on loopback refuses connections: a database server that is down.
  const config = loadConfig({
    LUNIPAY_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/test',
    LUNIPAY_LOG_LEVEL: 'silent',
  });
  const db = await openDatabase(config.database);
  const app = await buildApp({ config, db });
  try {
    for (let i = 0; i < 3; i++) {
      const health = await app.inject({ method: 'GET', url: '/healthz' });
      assert.equal(health.statusCode, 503);
      assert.equal(health.json().error.code, 'service_unavailable');
      const res = await app.inject({
        method: 'POST',
        url: '/v1/customers',
        headers: { authorization: `Bearer sk_test_${'a'.repeat(32)}` },
        payload: { email: 'a@b' },
      });
      assert.equal(res.statusCode, 503);
      assert.deepEqual(Object.keys(res.json().error).sort(), ['code', 'message', 'type']);
      assert.equal(res.json().error.type, 'api_error');
      assert.doesNotMatch(res.body, /ECONNREFUSED|127\.0\.0\.1/, 'no internals in the message');
    }
    // Routing still works without the database.
    assert.equal((await app.inject({ method: 'GET', url: '/nope' })).statusCode, 404);
  } finally {
    await app.close();
    await db.close();
  }
});

test('SQLite locked by another process: a clear 503 after the busy timeout, never a hang', async () => {
  const h = await startHarness('sqlite');
  const acct = await h.account();
  const path = (h.db.dialect === 'sqlite' && (h.config.database as { path: string }).path) as string;
  const other = new SQLite(path);
  try {
    other.exec('BEGIN EXCLUSIVE');
    const res = await within(
      HANG_MS,
      h.request('POST', '/v1/customers', { key: acct.test, json: { email: 'a@b' } }),
    );
    assert.equal(res.status, 503);
    assert.equal(res.body.error.code, 'service_unavailable');
    other.exec('ROLLBACK');
    const again = await h.request('POST', '/v1/customers', { key: acct.test, json: { email: 'a@b' } });
    assert.equal(again.status, 200, 'recovers once the lock is gone');
  } finally {
    other.close();
    await h.close();
  }
});
