import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openMigrated } from '../src/db/index.js';
import { loadSecretBox } from '../src/secret-key.js';
import { loadActiveSecrets } from '../src/webhooks/webhooks.secrets.js';
import { runCli, startServer } from './helpers/processes.js';

/**
 * The real server, started as `npm start` is with nothing configured but its database: the key
 * that seals signing secrets is made on first start beside the database, kept private, and
 * reused after a restart; its log lines and database files never hold a secret.
 */

const dir = mkdtempSync(join(tmpdir(), 'lunipay-webhooks-process-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('npm start needs no key: one is made beside the database, and secrets survive a restart', async () => {
  const dbPath = join(dir, 'lunipay.sqlite');
  const env = { LUNIPAY_DATABASE_URL: `sqlite:${dbPath}`, LUNIPAY_WORKER: 'false' };
  const made = await runCli(['accounts', 'create', '--name', 'Proc', '--json'], env);
  assert.equal(made.code, 0, made.stderr);
  const key = JSON.parse(made.stdout).keys.test as string;
  const call = async (base: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as { id: string; secret: string } };
  };

  const first = await startServer(env);
  const created = await call(first.url, 'POST', '/v1/webhook_endpoints', {
    url: 'https://example.com/hooks',
    enabled_events: ['*'],
  });
  assert.equal(created.status, 200);
  await first.kill();
  const keyFile = join(dir, 'secret.key');
  assert.equal(statSync(keyFile).mode & 0o777, 0o600);

  const second = await startServer(env);
  const rolled = await call(second.url, 'POST', `/v1/webhook_endpoints/${created.body.id}/roll_secret`, {});
  assert.equal(rolled.status, 200);
  const got = await call(second.url, 'GET', `/v1/webhook_endpoints/${created.body.id}`);
  assert.equal(got.status, 200);
  await second.kill();

  // Whoever reads the same key file opens what either server sealed.
  const db = await openMigrated({ database: { dialect: 'sqlite', path: dbPath } });
  try {
    const box = loadSecretBox({ key: undefined, keyFile });
    assert.deepEqual(await loadActiveSecrets(db.kysely, box, created.body.id), [
      rolled.body.secret,
      created.body.secret,
    ]);
  } finally {
    await db.close();
  }

  const secrets = [created.body.secret, rolled.body.secret];
  for (const output of [first.output(), second.output()]) {
    assert.ok(output.includes('"route":"/v1/webhook_endpoints'), 'the server logged its requests');
    assert.ok(!output.includes('whsec_'));
    for (const secret of secrets) assert.ok(!output.includes(secret.slice(6)), 'a log line holds a secret');
  }
  for (const file of readdirSync(dir).filter((f) => f.startsWith('lunipay.sqlite'))) {
    const bytes = readFileSync(join(dir, file));
    for (const secret of secrets) {
      assert.ok(!bytes.includes(secret.slice(6)), `${file} holds a secret`);
      assert.ok(!bytes.includes(Buffer.from(secret.slice(6), 'base64')), `${file} holds a secret's bytes`);
    }
  }
});
