import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type DialectName, type FreshDatabase, forEachDatabase, freshDatabase } from './helpers/harness.js';
import { runCli, type ServerProcess, startServer } from './helpers/processes.js';

/**
 * Keys are cached in each server process; revoking one with the command line (another process)
 * must still stop it on the server's very next request, in every server process, on both
 * databases, and no server logs a key.
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

forEachDatabase('revocation in every process', (dialect: DialectName) => {
  let fresh: FreshDatabase;
  let servers: ServerProcess[] = [];
  before(async () => {
    fresh = await freshDatabase(dialect);
  });
  after(async () => {
    for (const server of servers) {
      await server.kill('SIGTERM');
    }
    await fresh.drop();
  });

  test('a key revoked with the command line is refused by the next request to each process', async (t) => {
    const env = { LUNIPAY_DATABASE_URL: fresh.url };
    const created = await runCli(['accounts', 'create', '--name', 'Revoke shop', '--json'], env);
    assert.equal(created.code, 0, created.stderr);
    const account = JSON.parse(created.stdout);
    const made = await runCli(['keys', 'create', '--account', account.id, '--mode', 'test', '--json'], env);
    assert.equal(made.code, 0, made.stderr);
    const key = JSON.parse(made.stdout) as { id: string; secret: string };

    servers = await Promise.all([
      startServer({ ...env, LUNIPAY_LOG_LEVEL: 'info' }),
      startServer({ ...env, LUNIPAY_LOG_LEVEL: 'info' }),
    ]);
    const get = (server: ServerProcess, secret: string) =>
      fetch(`${server.url}/v1/customers`, { headers: { authorization: `Bearer ${secret}` } });
    for (const server of servers) {
      for (let i = 0; i < 5; i++) assert.equal((await get(server, key.secret)).status, 200);
    }

    const revoked = await runCli(['keys', 'revoke', key.id, '--json'], env);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.deepEqual(JSON.parse(revoked.stdout), { id: key.id, revoked: true });

    for (const server of servers) {
      const res = await get(server, key.secret);
      assert.equal(res.status, 401);
      const body = await res.json();
      assert.equal(body.error.code, 'api_key_invalid');
      assert.ok(!JSON.stringify(body).includes(key.secret));
      const basic = await fetch(`${server.url}/v1/customers`, {
        headers: { authorization: `Basic ${Buffer.from(`${key.secret}:`).toString('base64')}` },
      });
      assert.equal(basic.status, 401);
      // Only that key: the account's own keys still work.
      assert.equal((await get(server, account.keys.test)).status, 200);
    }
    // Log lines are buffered: they are all out once the processes have shut down.
    await Promise.all(servers.map((server) => server.kill('SIGTERM')));
    for (const server of servers) {
      const output = server.output();
      assert.match(output, /"status":401/, 'the 401s were logged');
      for (const secret of [key.secret, account.keys.test, account.keys.live]) {
        assert.ok(!output.includes(secret.slice(8)), 'a server log holds an API key');
      }
    }
    t.diagnostic(`${dialect}: 2 processes, key revoked by the CLI, next request to each: 401`);
  });
});
