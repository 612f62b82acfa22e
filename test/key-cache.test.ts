import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type FreshDatabase, forEachDatabase, freshDatabase } from './helpers/harness.js';
import { runCli } from './helpers/process.js';
import { type ServerProcess, startServer } from './helpers/server-process.js';

/**
 * Keys are cached in each server process; revoking one with the command line (another process)
 * must still stop it on the server's very next request, on both databases.
 */
forEachDatabase('API key cache and revocation across processes', (dialect) => {
  let fresh: FreshDatabase;
  let server: ServerProcess;
  let env: Record<string, string>;
  before(async () => {
    fresh = await freshDatabase(dialect);
    env = { LUNIPAY_DATABASE_URL: fresh.url, LUNIPAY_RATE_LIMIT: '0' };
    server = await startServer(env);
  });
  after(async () => {
    await server.kill('SIGTERM');
    await fresh.drop();
  });

  const get = (key: string) =>
    fetch(`${server.url}/v1/customers`, { headers: { authorization: `Bearer ${key}` } });

  test('a key revoked by another process is refused on the next request', async () => {
    const account = JSON.parse(
      (await runCli(['accounts', 'create', '--name', 'Cache', '--json'], env)).stdout,
    );
    const extra = JSON.parse(
      (await runCli(['keys', 'create', '--account', account.id, '--mode', 'test', '--json'], env)).stdout,
    );
    // Warm the cache with many requests, then revoke from outside the server.
    for (let i = 0; i < 20; i++) assert.equal((await get(extra.secret)).status, 200);
    const revoked = await runCli(['keys', 'revoke', extra.id, '--json'], env);
    assert.equal(revoked.code, 0, revoked.stderr);
    const next = await get(extra.secret);
    assert.equal(next.status, 401);
    assert.equal(((await next.json()) as { error: { code: string } }).error.code, 'api_key_invalid');
    // The account's other keys still work, and still come from the cache after it was cleared.
    for (let i = 0; i < 3; i++) assert.equal((await get(account.keys.test)).status, 200);
  });
});
