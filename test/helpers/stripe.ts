import { randomBytes } from 'node:crypto';
import { after, before, beforeEach } from 'node:test';
import qs from 'qs';
import * as accounts from '../../src/accounts/accounts.service.js';
import type { RunDeps } from '../../src/jobs/jobs.service.js';
import { LANES, runNext } from '../../src/jobs/jobs.service.js';
import type { JobRow } from '../../src/jobs/jobs.store.js';
import { startWorker, type Worker, type WorkerSettings } from '../../src/jobs/worker.js';
import type { Log } from '../../src/log.js';
import { createStripeGateway, type StripeGateway } from '../../src/stripe/gateway.js';
import { writeEventAndDeliveries } from '../../src/webhooks/deliveries.enqueue.js';
import { type FakeStripe, startFakeStripe } from '../fake-stripe/server.js';
import { type DialectName, type Harness, madeLater, startHarness, type TestAccount } from './harness.js';

export const TEST_KEY = 'sk_test_platformTESTsecret';
export const LIVE_KEY = 'sk_live_platformLIVEsecret';

/** Worker settings that make a test's retries take milliseconds instead of minutes. */
export const FAST: WorkerSettings = {
  concurrency: 2,
  webhookConcurrency: 2,
  pollMs: 10,
  leaseMs: 3000,
  backoff: { baseMs: 5, maxMs: 40 },
  maxAttempts: 1000,
  timing: { keyTrustMs: 23 * 3600_000, settleMs: 50, clockSkewMs: 60_000 },
  retentionMs: 3600_000,
};

export interface MerchantAccount extends TestAccount {
  stripeAccount: string;
}

export interface StripeHarness {
  h: Harness;
  fake: FakeStripe;
  gateway: StripeGateway;
  /** log lines of the workers and job runs, as objects */
  workerLogs: Record<string, unknown>[];
  /** an account with its own connected account */
  merchant(name?: string): Promise<MerchantAccount>;
  deps(overrides?: Omit<Partial<RunDeps>, 'settings'> & { settings?: Partial<WorkerSettings> }): RunDeps;
  worker(settings?: Partial<WorkerSettings>, gateway?: StripeGateway): Worker;
  /** runs jobs one at a time in this test's own loop until none is runnable right now */
  drain(deps?: RunDeps): Promise<void>;
  /** runs jobs in this test's own loop, waiting out backoffs, until none is queued or running */
  runUntilIdle(deps?: RunDeps, ms?: number): Promise<void>;
  /** every job, oldest first */
  jobs(customerId?: string): Promise<JobRow[]>;
  /** waits until `check` holds, failing the test after `ms` */
  until(check: () => boolean | Promise<boolean>, ms?: number): Promise<void>;
  close(): Promise<void>;
}

export function collectingLog(lines: Record<string, unknown>[]): Log {
  const push = (level: string) => (obj: unknown, msg?: string) =>
    void lines.push({ level, ...(obj as object), msg });
  return { info: push('info'), warn: push('warn'), error: push('error') };
}

export async function startStripeHarness(
  dialect: DialectName,
  env: Record<string, string> = {},
): Promise<StripeHarness> {
  const fake = await startFakeStripe();
  const h = await startHarness(dialect, {
    STRIPE_TEST_SECRET_KEY: TEST_KEY,
    STRIPE_SECRET_KEY: LIVE_KEY,
    STRIPE_API_BASE: fake.url,
    ...env,
  });
  const gateway = createStripeGateway({
    testKey: h.config.stripe.testKey,
    liveKey: h.config.stripe.liveKey,
    apiBase: fake.url,
    timeoutMs: 2000,
  });
  const workerLogs: Record<string, unknown>[] = [];
  const workers: Worker[] = [];

  const until: StripeHarness['until'] = async (check, ms = 10_000) => {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };

  const deps: StripeHarness['deps'] = (overrides = {}) => ({
    db: h.db,
    gateway,
    log: collectingLog(workerLogs),
    workerId: `test-${randomBytes(3).toString('hex')}`,
    now: Date.now,
    lane: LANES.stripe,
    eventHook: writeEventAndDeliveries,
    ...overrides,
    settings: { ...FAST, ...overrides.settings },
  });

  return {
    h,
    fake,
    gateway,
    workerLogs,
    async merchant(name = 'Merchant') {
      const account = await h.account(name);
      const stripeAccount = `acct_${randomBytes(6).toString('hex')}`;
      await accounts.setStripeAccount(h.db, account.id, stripeAccount);
      return { ...account, stripeAccount };
    },
    deps,
    worker(settings = {}, workerGateway = gateway) {
      const worker = startWorker({
        db: h.db,
        gateway: workerGateway,
        log: collectingLog(workerLogs),
        eventHook: writeEventAndDeliveries,
        settings: { ...FAST, ...settings },
      });
      workers.push(worker);
      return worker;
    },
    async drain(runDeps = deps()) {
      while (await runNext(runDeps)) {}
    },
    async runUntilIdle(runDeps = deps(), ms = 10_000) {
      await until(async () => {
        while (await runNext(runDeps)) {}
        const open = await h.db.kysely
          .selectFrom('jobs')
          .select('seq')
          .where('state', 'in', ['queued', 'running'])
          .execute();
        return open.length === 0;
      }, ms);
    },
    async jobs(customerId) {
      let query = h.db.kysely.selectFrom('jobs').selectAll().orderBy('seq');
      if (customerId !== undefined) query = query.where('customer_id', '=', customerId);
      return query.execute();
    },
    until,
    async close() {
      await Promise.all(workers.map((w) => w.stop()));
      await h.close();
      await fake.close();
    },
  };
}

/**
 * For a suite: a Stripe harness made before its tests and closed after them, and before each test
 * the fake Stripe reset and a new merchant `m` with a connected account of its own. Like
 * useHarness, what is returned stands in for them and can be destructured at the top of the suite.
 */
export function useStripeSuite(
  dialect: DialectName,
  env: Record<string, string> = {},
): { s: StripeHarness; m: MerchantAccount } {
  let s: StripeHarness | undefined;
  let m: MerchantAccount | undefined;
  before(async () => {
    s = await startStripeHarness(dialect, env);
  });
  after(() => s?.close());
  beforeEach(async () => {
    s?.fake.reset();
    m = await s?.merchant();
  });
  return { s: madeLater('Stripe harness', () => s), m: madeLater('merchant', () => m) };
}

/** The environment a child process needs to share this harness's database and fake Stripe. */
export function childEnv(s: StripeHarness): Record<string, string> {
  return {
    LUNIPAY_DATABASE_URL: s.h.databaseUrl,
    STRIPE_TEST_SECRET_KEY: TEST_KEY,
    STRIPE_SECRET_KEY: LIVE_KEY,
    STRIPE_API_BASE: s.fake.url,
    LUNIPAY_LOG_LEVEL: 'info',
  };
}

/** Acts on the fake Stripe as the merchant would in Stripe's dashboard, outside LuniPay. */
export async function stripeOutside(
  s: StripeHarness,
  method: 'POST' | 'DELETE',
  path: string,
  stripeAccount: string,
  params: Record<string, unknown> = {},
): Promise<Record<string, unknown>> {
  const res = await fetch(`${s.fake.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${TEST_KEY}`,
      'stripe-account': stripeAccount,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: method === 'POST' ? qs.stringify(params) : undefined,
  });
  return (await res.json()) as Record<string, unknown>;
}
