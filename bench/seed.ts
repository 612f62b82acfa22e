import { writeFileSync } from 'node:fs';
import { sql } from 'kysely';
import * as accounts from '../src/accounts/accounts.service.js';
import type { DatabaseConfig } from '../src/config.js';
import { toCustomer } from '../src/customers/customers.service.js';
import { insertCustomers, type NewCustomerRow } from '../src/customers/customers.store.js';
import { type Db, openMigrated } from '../src/db/index.js';
import { ulid } from '../src/ids.js';

/**
 * Fills a fresh database with one account and `count` customers of its test mode, through the
 * store's own table definitions (not HTTP). Ids are ULIDs of past times, oldest first, so every
 * customer the benchmark creates later is newer than all of them.
 */

export interface Seeded {
  secret: string;
  accountId: string;
  count: number;
  /** Wall time of the bulk insert alone (account creation and id sampling excluded). */
  seedMs: number;
  rowsPerSecond: number;
  /** A sample of customer ids spread over the whole table, for random retrieves and updates. */
  sampleIds: string[];
  /** The customer 20 places from the oldest: a deep page with `starting_after` still has 10+ rows. */
  deepCursor: string;
  /** The JSON a retrieve of `sampleIds[0]` answers, byte for byte: the baseline serves it. */
  sampleCustomerJson: string;
  /** The database's version and durability settings, as the server's own connections see them. */
  databaseSettings: Record<string, string>;
}

const PG_SETTINGS = [
  'server_version',
  'fsync',
  'synchronous_commit',
  'wal_sync_method',
  'full_page_writes',
  'commit_delay',
  'shared_buffers',
];

async function settingsOf(db: Db): Promise<Record<string, string>> {
  if (db.dialect === 'postgres') {
    const rows = await sql<{ name: string; setting: string; unit: string | null }>`
      select name, setting, unit from pg_settings where name in (${sql.join(PG_SETTINGS)})`.execute(
      db.kysely,
    );
    return Object.fromEntries(
      rows.rows.map((r) => [r.name, r.unit ? `${r.setting} × ${r.unit}` : r.setting]),
    );
  }
  const one = async (query: ReturnType<typeof sql<Record<string, unknown>>>) =>
    String(Object.values((await query.execute(db.kysely)).rows[0] ?? {})[0]);
  return {
    sqlite_version: await one(sql`select sqlite_version()`),
    // Set by src/db/sqlite.ts on every connection; 2 is FULL.
    journal_mode: await one(sql`pragma journal_mode`),
    synchronous: await one(sql`pragma synchronous`),
  };
}

const ROWS_PER_TRANSACTION = 50_000;
/** Big statements amortise each one's round trip and parse; 512 rows (7,168 parameters) still compile fast. */
const ROWS_PER_STATEMENT = 512;
/** Seeded creation times: one customer every 2 s, ending an hour ago. */
const STEP_MS = 2000;

const FIRST_NAMES = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'John'];

/** Eight letters from `n`, the first a capital. */
function letters(n: number): string {
  let out = '';
  for (let k = 0; k < 8; k++, n = Math.floor(n / 26))
    out += String.fromCharCode((k === 0 ? 65 : 97) + (n % 26));
  return out;
}

/**
 * The searched fields of seeded customer `i`, so that a search can be written for a few of
 * them (bench/search-scenarios.ts). Every customer's last name and phone differ (both come from
 * `i` by a multiplication that is one-to-one modulo 26⁸ and 10¹⁰), spread as real ones are
 * over many trigrams; first names come from a short list, as real ones mostly do, and every
 * phone starts "+1": trigrams that most customers share.
 */
export function seededPerson(i: number): {
  email: string;
  firstName: string;
  lastName: string;
  phone: string;
} {
  return {
    // Seven digits whatever `i`, so that a search for them is the same kind of term at any size.
    email: `customer.${String(i).padStart(7, '0')}@example.com`,
    firstName: FIRST_NAMES[i % FIRST_NAMES.length] as string,
    lastName: letters((i * 48_271 + 12_345) % 26 ** 8),
    phone: `+1${String((i * 2_654_435_761 + 12_345) % 10 ** 10).padStart(10, '0')}`,
  };
}

function row(i: number, id: string, accountId: string, ms: number): NewCustomerRow {
  const seconds = Math.floor(ms / 1000);
  const person = seededPerson(i);
  return {
    id,
    account_id: accountId,
    mode: 'test',
    email: person.email,
    email_lower: person.email,
    first_name: person.firstName,
    last_name: person.lastName,
    phone: person.phone,
    company_name: 'Analytical Engines Ltd.',
    notes: 'VIP — priority support',
    metadata: JSON.stringify({ internal_id: `ACCT-${i}` }),
    stripe_customer_id: null,
    created: seconds,
    updated: seconds,
  };
}

export async function seed(
  config: DatabaseConfig,
  options: { count: number; pgSchema?: string; sampleSize: number; idsFile: string },
): Promise<Seeded> {
  const db = await openMigrated(
    { database: config },
    options.pgSchema ? { pgSchema: options.pgSchema, poolSize: 4 } : {},
  );
  try {
    const { account, keys } = await accounts.createAccount(db, { name: 'Bench shop', stripeAccountId: null });
    const start = Date.now() - 3_600_000 - options.count * STEP_MS;
    const every = Math.max(1, Math.floor(options.count / options.sampleSize));
    const sampleIds: string[] = [];
    let deepCursor = '';
    let sample: NewCustomerRow | undefined;
    const t0 = performance.now();
    for (let done = 0; done < options.count; ) {
      const batch: NewCustomerRow[] = [];
      const end = Math.min(options.count, done + ROWS_PER_TRANSACTION);
      for (let i = done; i < end; i++) {
        const ms = start + i * STEP_MS;
        const r = row(i, `cus_${ulid(ms)}`, account.id, ms);
        batch.push(r);
        if (i === 20) deepCursor = r.id;
        if (i % every === 0 && sampleIds.length < options.sampleSize) {
          sampleIds.push(r.id);
          sample ??= r;
        }
      }
      await db.kysely.transaction().execute((trx) => insertCustomers(trx, batch, ROWS_PER_STATEMENT));
      done = end;
    }
    const seedMs = performance.now() - t0;
    // What autovacuum does on its own shortly after a bulk load; pinned here so plans do not
    // change mid-run. SQLite gets nothing: the app never runs ANALYZE there either.
    if (config.dialect === 'postgres') {
      await sql`vacuum analyze customers`.execute(db.kysely);
      await sql`vacuum analyze customer_search`.execute(db.kysely);
      // Flush the load's dirty pages now: otherwise a spread checkpoint writes them for minutes
      // into the first scenarios. Needs superuser (or pg_checkpoint); without it, carry on.
      await sql`checkpoint`.execute(db.kysely).catch(() => undefined);
    }
    writeFileSync(options.idsFile, `${sampleIds.join('\n')}\n`);
    if (!sample) throw new Error('nothing seeded');
    return {
      secret: keys.test.secret,
      accountId: account.id,
      count: options.count,
      seedMs,
      rowsPerSecond: options.count / (seedMs / 1000),
      sampleIds,
      deepCursor,
      sampleCustomerJson: JSON.stringify(toCustomer({ ...sample, version: 1 })),
      databaseSettings: await settingsOf(db),
    };
  } finally {
    await db.close();
  }
}
