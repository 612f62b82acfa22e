// Writes the OpenAPI document the server generates from its route schemas to openapi.json.
// With --check it writes nothing and fails when the committed file differs, so the file, the
// SDK's types generated from it and the server can never drift apart.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { openMigrated } from '../src/db/index.js';

const target = new URL('../openapi.json', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'lunipay-openapi-'));
const config = loadConfig({
  LUNIPAY_DATABASE_URL: `sqlite:${join(dir, 'doc.sqlite')}`,
  LUNIPAY_LOG_LEVEL: 'silent',
});
const db = await openMigrated(config);
const app = await buildApp({ config, db });
const text = `${JSON.stringify((await app.inject({ method: 'GET', url: '/v1/openapi.json' })).json(), null, 2)}\n`;
await app.close();
await db.close();
rmSync(dir, { recursive: true, force: true });

if (process.argv.includes('--check')) {
  let committed = '';
  try {
    committed = readFileSync(target, 'utf8');
  } catch {}
  if (committed !== text) {
    process.stderr.write(
      'openapi.json is out of date with the route schemas: run `npm run openapi` and commit it.\n',
    );
    process.exit(1);
  }
} else {
  writeFileSync(target, text);
  process.stdout.write(`wrote ${target}\n`);
}
