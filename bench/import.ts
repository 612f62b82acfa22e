import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as accounts from '../src/accounts/accounts.service.js';
import { customerWriteHooks } from '../src/app.js';
import { openMigrated } from '../src/db/index.js';
import { importCustomers } from '../src/search/import.js';
import { createStripeGateway } from '../src/stripe/gateway.js';

/**
 * `npx tsx bench/import.ts [--rows 100000]`: `customers import` of a CSV file of that many rows
 * into a fresh SQLite database, through the same function the command line runs (events
 * written, Stripe jobs queued where configured). Prints rows per second and the wall time.
 */

const { values } = parseArgs({ options: { rows: { type: 'string', default: '100000' } } });
const rows = Number(values.rows);
const tag = randomBytes(4).toString('hex');
const path = join(tmpdir(), `lunipay-import-bench-${tag}.sqlite`);
const file = join(tmpdir(), `lunipay-import-bench-${tag}.csv`);

const lines = ['email,first_name,last_name,phone,company_name,notes,metadata'];
for (let i = 0; i < rows; i++) {
  lines.push(
    `person${i}@example.com,First${i},Last${i},+1 555 ${String(i).padStart(7, '0')},,,"{""n"":""${i}""}"`,
  );
}
writeFileSync(file, `${lines.join('\r\n')}\r\n`);

const db = await openMigrated({ database: { dialect: 'sqlite', path } });
try {
  const { account } = await accounts.createAccount(db, { name: 'Import bench', stripeAccountId: null });
  const hooks = customerWriteHooks(
    createStripeGateway({ liveKey: undefined, testKey: undefined, apiBase: undefined }),
    db,
  );
  const start = performance.now();
  const summary = await importCustomers({
    db,
    hooks,
    accountId: account.id,
    mode: 'test',
    path: file,
    format: 'csv',
    dryRun: false,
  });
  const seconds = (performance.now() - start) / 1000;
  process.stdout.write(
    `${JSON.stringify({ rows, created: summary.created, failed: summary.failed, seconds: Number(seconds.toFixed(1)), rows_per_s: Math.round(rows / seconds), rss_mib: Math.round(process.memoryUsage().rss / 2 ** 20) })}\n`,
  );
} finally {
  await db.close();
  for (const s of ['', '-wal', '-shm']) rmSync(path + s, { force: true });
  rmSync(file, { force: true });
}
