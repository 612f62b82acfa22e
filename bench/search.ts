import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import pg from 'pg';
import * as accounts from '../src/accounts/accounts.service.js';
import type { AuthContext } from '../src/accounts/keys.js';
import type { DatabaseConfig } from '../src/config.js';
import { createCustomer } from '../src/customers/customers.service.js';
import { insertCustomers, type NewCustomerRow } from '../src/customers/customers.store.js';
import { type Db, openMigrated } from '../src/db/index.js';
import { ulid } from '../src/ids.js';
import { exportCustomers } from '../src/search/export.js';
import { searchCustomers } from '../src/search/search.service.js';
import { ephemeralSecretBox } from '../src/secret-key.js';

/**
 * `npx tsx bench/search.ts --size N [--dialect sqlite|postgres]`: search, create and export at
 * N customers of one account and mode, measured in this process through the services (no HTTP:
 * the figures are the database's and the query plans', not the server's). Seeds through the
 * store, so the search rows and indexes are built as the write path builds them.
 *
 * Searches pick a customer at random and look for part of its email, its full name, or seven
 * digits of its phone: each matches a few customers, as a support desk's would.
 */

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '100000' },
    dialect: { type: 'string', default: 'sqlite' },
    searches: { type: 'string', default: '300' },
  },
});
const size = Number(values.size);
const dialect = values.dialect as 'sqlite' | 'postgres';
const log = (m: string) => process.stderr.write(`[search bench] ${m}\n`);

const WORDS = ['ada', 'grace', 'alan', 'edsger', 'barbara', 'donald', 'frances', 'john', 'radia', 'ken'];
const word = (n: number) =>
  Array.from({ length: 5 }, (_, k) => String.fromCharCode(97 + (Math.floor(n / 26 ** k) % 26))).join('');
const person = (i: number) => ({
  first: `${WORDS[i % WORDS.length]}${word((i * 7919) % 26 ** 5)}`,
  last: word((i * 104_729) % 26 ** 5),
  email: `${word((i * 31) % 26 ** 5)}.${i}@example${i % 50}.com`,
  phone: `+1 ${String((i * 2_654_435_761) % 10_000_000_000).padStart(10, '0')}`,
});

async function open(): Promise<{ db: Db; drop: () => Promise<void> }> {
  const tag = randomBytes(4).toString('hex');
  if (dialect === 'sqlite') {
    const path = join(tmpdir(), `lunipay-search-bench-${tag}.sqlite`);
    const config: DatabaseConfig = { dialect: 'sqlite', path };
    const db = await openMigrated({ database: config });
    return {
      db,
      drop: async () => {
        await db.close();
        for (const s of ['', '-wal', '-shm']) rmSync(path + s, { force: true });
      },
    };
  }
  const url = process.env.LUNIPAY_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const schema = `bench_search_${tag}`;
  const db = await openMigrated(
    { database: { dialect: 'postgres', url } },
    { pgSchema: schema, poolSize: 8 },
  );
  return {
    db,
    drop: async () => {
      await db.close();
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query(`drop schema if exists ${schema} cascade`);
      await client.end();
    },
  };
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;

async function main() {
  const { db, drop } = await open();
  try {
    const { account } = await accounts.createAccount(db, { name: 'Bench', stripeAccountId: null });
    const auth: AuthContext = { accountId: account.id, mode: 'test', keyId: 'bench' };
    const start = Date.now() - size * 10;
    const seedStart = performance.now();
    for (let i = 0; i < size; i += 5000) {
      const rows: NewCustomerRow[] = [];
      for (let j = i; j < Math.min(size, i + 5000); j++) {
        const p = person(j);
        rows.push({
          id: `cus_${ulid(start + j * 10)}`,
          account_id: account.id,
          mode: 'test',
          email: p.email,
          email_lower: p.email.toLowerCase(),
          first_name: p.first,
          last_name: p.last,
          phone: p.phone,
          company_name: j % 3 === 0 ? `${p.last} Ltd` : null,
          notes: null,
          metadata: j % 2 === 0 ? JSON.stringify({ plan: j % 10 === 0 ? 'pro' : 'free' }) : null,
          stripe_customer_id: null,
          created: Math.floor((start + j * 10) / 1000),
          updated: Math.floor((start + j * 10) / 1000),
        });
      }
      await db.kysely.transaction().execute((trx) => insertCustomers(trx, rows, 256));
      if (i % 100_000 === 0) log(`seeded ${i}`);
    }
    const seedS = (performance.now() - seedStart) / 1000;
    if (dialect === 'postgres') await sql`analyze`.execute(db.kysely);
    log(`seeded ${size} in ${seedS.toFixed(1)} s`);

    const deps = { db, secretBox: ephemeralSecretBox() };
    const searches = Number(values.searches);
    const figures: Record<string, unknown> = { dialect, size, seed_rows_per_s: Math.round(size / seedS) };
    for (const [name, queryOf] of [
      ['email~', (i: number) => `email~"${person(i).email.slice(0, 9)}"`],
      ['name~', (i: number) => `name~"${person(i).first} ${person(i).last.slice(0, 3)}"`],
      ['phone~', (i: number) => `phone~"${person(i).phone.slice(4, 11)}"`],
    ] as const) {
      const times: number[] = [];
      let found = 0;
      for (let k = 0; k < searches; k++) {
        const i = Math.floor(Math.random() * size);
        const t = performance.now();
        const result = await searchCustomers(deps, auth, { query: queryOf(i), limit: 10 });
        times.push(performance.now() - t);
        found += result.data.length;
      }
      times.sort((a, b) => a - b);
      figures[name] = {
        p50_ms: Number(percentile(times, 0.5).toFixed(2)),
        p99_ms: Number(percentile(times, 0.99).toFixed(2)),
        mean_found: Number((found / searches).toFixed(1)),
      };
    }

    // Creates through the API's write path (group commit), 50 at a time.
    const creates = 2000;
    const t = performance.now();
    for (let i = 0; i < creates; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, k) =>
          createCustomer(
            { db },
            auth,
            { email: `new${i + k}@bench.test`, first_name: 'New' },
            { requestId: null, idempotencyKey: null, source: 'api' },
          ),
        ),
      );
    }
    figures.creates_per_s = Math.round(creates / ((performance.now() - t) / 1000));

    // The whole export, read as fast as it comes, with the process's peak RSS sampled.
    let peak = process.memoryUsage().rss;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 50);
    const before = process.memoryUsage().rss;
    const e = performance.now();
    const exported = await exportCustomers(db, auth, { format: 'csv' });
    let bytes = 0;
    for await (const chunk of exported.body) bytes += String(chunk).length;
    clearInterval(sampler);
    const exportS = (performance.now() - e) / 1000;
    figures.export = {
      customers_per_s: Math.round((size + creates) / exportS),
      mib: Number((bytes / 2 ** 20).toFixed(1)),
      rss_before_mib: Math.round(before / 2 ** 20),
      rss_peak_mib: Math.round(peak / 2 ** 20),
    };
    process.stdout.write(`${JSON.stringify(figures)}\n`);
  } finally {
    await drop();
  }
}

await main();
