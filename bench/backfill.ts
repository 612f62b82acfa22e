import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as accounts from '../src/accounts/accounts.service.js';
import { createCustomer } from '../src/customers/customers.service.js';
import { openMigrated } from '../src/db/index.js';
import { stripeOutbox } from '../src/jobs/outbox.js';
import { BACKFILL_PAGE, backfill, countUnprovisioned } from '../src/jobs/stripe-backfill.js';
import { createStripeGateway } from '../src/stripe/gateway.js';
import { seed } from './seed.js';

/**
 * `npx tsx bench/backfill.ts [COUNT [PAGE]]`: how fast connecting an account with COUNT existing
 * customers (default 100,000) queues their provisioning on SQLite, and what it does meanwhile to
 * the API's writes: a loop of customer creates through the same write path runs alongside and
 * its latencies are reported. Stripe is never called (queueing only; the worker's rate is
 * Stripe's). Figures depend on the machine: say what else ran on it.
 */

const count = Number(process.argv[2] ?? 100_000);
const pageSize = Number(process.argv[3] ?? BACKFILL_PAGE);
const dir = mkdtempSync(join(tmpdir(), 'lunipay-backfill-'));
const database = { dialect: 'sqlite' as const, path: join(dir, 'bench.sqlite') };

const seeded = await seed(database, { count, sampleSize: 10, idsFile: join(dir, 'ids.txt') });
const db = await openMigrated({ database });
const gateway = createStripeGateway({ testKey: 'sk_test_benchPlatformKey', apiBase: 'http://127.0.0.1:9' });
// The API's writes go to another, connected account: each queues its own provisioning job.
const { account: busy } = await accounts.createAccount(db, {
  name: 'Busy shop',
  stripeAccountId: 'acct_benchBusy',
});
const auth = { accountId: busy.id, mode: 'test' as const, keyId: 'bench' };
const origin = { requestId: null, idempotencyKey: null, source: 'api' as const };
const deps = { db, hooks: [stripeOutbox({ gateway, locksRows: db.locksRows })] };

async function writes(until: () => boolean): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; !until() && i < 100_000; i++) {
    const t = performance.now();
    await createCustomer(deps, auth, { email: `during.${i}@example.com` }, origin);
    latencies.push(performance.now() - t);
  }
  return latencies;
}

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? 0;
const baselineEnd = performance.now() + 2000;
const before = await writes(() => performance.now() > baselineEnd);

await accounts.setStripeAccount(db, seeded.accountId, 'acct_benchBackfill');
let done = false;
const t0 = performance.now();
const [result, during] = await Promise.all([
  backfill({ db, gateway, pageSize }, { accountId: seeded.accountId }).finally(() => {
    done = true;
  }),
  writes(() => done),
]);
const seconds = (performance.now() - t0) / 1000;
const left = await countUnprovisioned(db, gateway);
// A second pass finds every customer queued already: what a start-up costs when nothing is missing.
const t1 = performance.now();
const again = await backfill({ db, gateway, pageSize }, { accountId: seeded.accountId });
const againSeconds = (performance.now() - t1) / 1000;
await db.close();
rmSync(dir, { recursive: true, force: true });

const ms = (x: number) => Number(x.toFixed(2));
console.log(
  JSON.stringify(
    {
      customers: count,
      page_size: pageSize,
      queued: result.queued,
      seconds: Number(seconds.toFixed(2)),
      customers_per_second: Math.round(result.queued / seconds),
      second_pass: { queued: again.queued, seconds: Number(againSeconds.toFixed(2)) },
      // no worker runs here: what is queued is still unprovisioned (the busy account's creates too)
      unprovisioned_after: left,
      api_create_ms_before: {
        n: before.length,
        p50: ms(pct(before, 0.5)),
        p99: ms(pct(before, 0.99)),
        max: ms(Math.max(...before)),
      },
      api_create_ms_during: {
        n: during.length,
        p50: ms(pct(during, 0.5)),
        p99: ms(pct(during, 0.99)),
        max: ms(Math.max(...during)),
      },
    },
    null,
    2,
  ),
);
