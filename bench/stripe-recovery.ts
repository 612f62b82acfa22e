import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as accounts from '../src/accounts/accounts.service.js';
import { createCustomer } from '../src/customers/customers.service.js';
import { openMigrated } from '../src/db/index.js';
import { stripeOutbox } from '../src/jobs/outbox.js';
import { startWorker } from '../src/jobs/worker.js';
import { createStripeGateway } from '../src/stripe/gateway.js';
import { writeEventAndDeliveries } from '../src/webhooks/deliveries.enqueue.js';
import { startFakeStripe } from '../test/fake-stripe/server.js';

/**
 * `npx tsx bench/stripe-recovery.ts`: a customer whose first five Stripe creates get fresh 500s,
 * with the worker's default settings (backoff 1 s, 2 s, 4 s … with jitter). Reports when each
 * attempt went out, how long after the last failure Stripe was asked again (the backoff: Stripe
 * may be back at any moment in it), and how long after Stripe's first good answer the customer
 * was provisioned. Takes up to half a minute.
 */

const fake = await startFakeStripe();
const dir = mkdtempSync(join(tmpdir(), 'lunipay-recovery-'));
const db = await openMigrated({ database: { dialect: 'sqlite', path: join(dir, 'db.sqlite') } });
const gateway = createStripeGateway({ testKey: 'sk_test_benchPlatformKey', apiBase: fake.url });
const silent = { info() {}, warn() {}, error() {} };
const worker = startWorker({ db, gateway, log: silent, eventHook: writeEventAndDeliveries });
const { account } = await accounts.createAccount(db, {
  name: 'Recovering shop',
  stripeAccountId: 'acct_recovery1',
});
fake.failNext(5, { status: 500 });
const created = await createCustomer(
  { db, hooks: [stripeOutbox({ gateway, locksRows: db.locksRows }), writeEventAndDeliveries] },
  { accountId: account.id, mode: 'test', keyId: 'bench' },
  { email: 'recovering@example.com' },
  { requestId: null, idempotencyKey: null, source: 'api' },
);
const t0 = Date.now();
let linkedAt = 0;
for (let i = 0; i < 12_000 && linkedAt === 0; i++) {
  const row = await db.kysely
    .selectFrom('customers')
    .select('stripe_customer_id')
    .where('id', '=', created.id)
    .executeTakeFirst();
  if (row?.stripe_customer_id) linkedAt = Date.now();
  else await new Promise((resolve) => setTimeout(resolve, 5));
}
await worker.stop();
const calls = fake.requests.map((r) => ({ at_ms: r.at - t0, status: r.status, key: r.idempotencyKey }));
const lastFailure = calls[4]?.at_ms ?? 0;
const success = calls[5]?.at_ms ?? 0;
console.log(
  JSON.stringify(
    {
      calls,
      keys: [...new Set(calls.map((c) => c.key))].length,
      stripe_customers: fake.customers('acct_recovery1').length,
      asked_again_after_last_failure_ms: success - lastFailure,
      provisioned_after_first_good_answer_ms: linkedAt - t0 - success,
    },
    null,
    2,
  ),
);
await fake.close();
await db.close();
rmSync(dir, { recursive: true, force: true });
