import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ConfigError, loadConfig } from './config.js';
import { ephemeralSecretBox, loadSecretBox, SecretBox } from './secret-key.js';

const dir = mkdtempSync(join(tmpdir(), 'lunipay-secret-key-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('seal and open: AES-256-GCM bound to its context and its key', () => {
  const box = ephemeralSecretBox();
  const sealed = box.seal('whsec_abc', 'endpoint:we_1');
  assert.match(sealed, new RegExp(`^v1\\.${box.keyId}\\.[A-Za-z0-9_-]{16}\\.[A-Za-z0-9_-]+$`));
  assert.ok(!sealed.includes('whsec_abc'));
  assert.notEqual(box.seal('whsec_abc', 'endpoint:we_1'), sealed, 'a fresh IV each time');
  assert.equal(box.open(sealed, 'endpoint:we_1'), 'whsec_abc');
  assert.throws(() => box.open(sealed, 'endpoint:we_2'), 'another context does not open it');
  const [v, kid, iv, body = ''] = sealed.split('.');
  const bytes = Buffer.from(body, 'base64url');
  bytes[0] = (bytes[0] ?? 0) ^ 1;
  const flipped = `${v}.${kid}.${iv}.${bytes.toString('base64url')}`;
  assert.throws(() => box.open(flipped, 'endpoint:we_1'), 'a changed ciphertext does not open');
  assert.throws(
    () => ephemeralSecretBox().open(sealed, 'endpoint:we_1'),
    /sealed under key .* same LUNIPAY_SECRET_KEY/,
  );
  assert.equal(JSON.stringify({ box }), `{"box":"SecretBox(${box.keyId})"}`, 'a box never prints its key');
});

test('LUNIPAY_SECRET_KEY is validated once, with the configuration', () => {
  const key = randomBytes(32).toString('base64');
  const config = loadConfig({ LUNIPAY_SECRET_KEY: key });
  assert.equal(config.secrets.key, key);
  const box = loadSecretBox(config.secrets);
  assert.equal(new SecretBox(Buffer.from(key, 'base64')).keyId, box.keyId);
  for (const bad of [
    'short',
    randomBytes(16).toString('base64'),
    randomBytes(33).toString('base64'),
    `${key.slice(0, -1)}!`,
  ]) {
    assert.throws(
      () => loadConfig({ LUNIPAY_SECRET_KEY: bad }),
      (e) => e instanceof ConfigError && /LUNIPAY_SECRET_KEY/.test(e.message),
    );
  }
});

test('the key file defaults to beside the SQLite database', () => {
  assert.equal(loadConfig({}).secrets.keyFile, join('data', 'secret.key'));
  assert.equal(
    loadConfig({ LUNIPAY_DATABASE_URL: 'sqlite:/var/lib/lunipay/db.sqlite' }).secrets.keyFile,
    '/var/lib/lunipay/secret.key',
  );
  assert.equal(
    loadConfig({ LUNIPAY_DATABASE_URL: 'postgres://db/lunipay' }).secrets.keyFile,
    join('data', 'secret.key'),
  );
  assert.equal(loadConfig({ LUNIPAY_SECRET_KEY_FILE: '/run/keys/k' }).secrets.keyFile, '/run/keys/k');
});

test('without a key, a key file is made on first start with mode 0600 and reused after', () => {
  const keyFile = join(dir, 'first', 'secret.key');
  const box = loadSecretBox({ key: undefined, keyFile });
  assert.equal(statSync(keyFile).mode & 0o777, 0o600);
  assert.equal(Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'base64').length, 32);
  const again = loadSecretBox({ key: undefined, keyFile });
  assert.equal(again.keyId, box.keyId);
  assert.equal(again.open(box.seal('x', 'c'), 'c'), 'x');
  assert.deepEqual(readdirSync(join(dir, 'first')), ['secret.key'], 'no temporary file is left behind');
});

test('processes starting together all end up with the same key', async () => {
  const keyFile = join(dir, 'race', 'secret.key');
  const script = `import { loadSecretBox } from ${JSON.stringify(new URL('./secret-key.ts', import.meta.url).href)};
    process.stdout.write(loadSecretBox({ keyFile: ${JSON.stringify(keyFile)} }).keyId);`;
  const ids = await Promise.all(
    Array.from({ length: 6 }, () => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script]);
      let out = '';
      child.stdout.on('data', (chunk) => {
        out += chunk;
      });
      return new Promise<string>((resolve, reject) => {
        child.on('error', reject);
        child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}`))));
      });
    }),
  );
  assert.equal(new Set(ids).size, 1, ids.join(' '));
  assert.equal(loadSecretBox({ key: undefined, keyFile }).keyId, ids[0]);
});

test('a key file others may read, or that holds no key, is refused', () => {
  const keyFile = join(dir, 'open.key');
  writeFileSync(keyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o644 });
  chmodSync(keyFile, 0o644);
  assert.throws(
    () => loadSecretBox({ key: undefined, keyFile }),
    (e) => e instanceof ConfigError && /chmod 600/.test(e.message),
  );
  const bad = join(dir, 'bad.key');
  writeFileSync(bad, 'not a key\n', { mode: 0o600 });
  assert.throws(
    () => loadSecretBox({ key: undefined, keyFile: bad }),
    (e) => e instanceof ConfigError && /32 bytes/.test(e.message),
  );
});
