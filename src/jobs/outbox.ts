import type { Transaction } from 'kysely';
import { connectedAccountOf } from '../accounts/accounts.store.js';
import type { CustomerRow } from '../customers/customers.store.js';
import type { Database, Mode } from '../db/schema.js';
import type { CustomerWriteHook } from '../db/write-hooks.js';
import { stripeFields, stripeFieldsDiffer } from '../stripe/fields.js';
import type { StripeGateway } from '../stripe/gateway.js';
import { deleteCustomer } from './delete-customer.job.js';
import { insertJob, type JobRow, setJobs, unfinishedJobsOf } from './jobs.store.js';
import { provisionCustomer } from './provision-customer.job.js';
import { findLink, insertLink } from './stripe-customers.store.js';
import { newStripeJob, provisionJob } from './stripe-job-spec.js';
import { type UpdatePayload, updateCustomer } from './update-customer.job.js';

/**
 * The customer write hook that fills the outbox. It runs inside each customer write's
 * transaction, so a job exists exactly when the write committed.
 *
 * Provisioning applies to customers of an account with a connected account, in a mode whose
 * platform key is configured; otherwise no job is made. A customer that is already in Stripe
 * (or may be) still gets its delete job, so no personal data is left behind in Stripe silently:
 * if that cannot work, the job fails where operators see it.
 */
export function stripeOutbox(opts: {
  gateway: StripeGateway;
  /** `Db.locksRows`: lock this customer's unfinished jobs, so no worker claims one while a write decides about it. */
  locksRows: boolean;
  now?: () => number;
}): CustomerWriteHook {
  const now = opts.now ?? Date.now;
  const lock = opts.locksRows;

  return async (trx, event) => {
    const customer = event.customer;
    if (event.type === 'created') {
      if (!opts.gateway.enabled(customer.mode)) return;
      const stripeAccount = await connectedAccountOf(trx, customer.account_id);
      if (stripeAccount === null) return;
      if (customer.stripe_customer_id !== null) {
        await linkImported(trx, customer, stripeAccount, now());
        return;
      }
      await insertJob(trx, provisionJob(customer, stripeAccount, now()));
    } else if (event.type === 'updated') {
      if (!opts.gateway.enabled(customer.mode) || !stripeFieldsDiffer(event.before, customer)) return;
      if ((await connectedAccountOf(trx, customer.account_id)) === null) return;
      await enqueueUpdate(trx, customer, lock, now());
    } else {
      await enqueueDelete(trx, customer, lock, now());
    }
  };
}

/**
 * A customer imported from Stripe (`stripe import`) is in Stripe already: it is linked, and an
 * update pushes `lunipay_customer_id` (and the fields as LuniPay took them) into it. The keys
 * it was imported with count as sent, so the update removes none of the merchant's others.
 */
async function linkImported(
  trx: Transaction<Database>,
  customer: CustomerRow,
  stripeAccount: string,
  at: number,
) {
  await insertLink(trx, {
    customer_id: customer.id,
    account_id: customer.account_id,
    mode: customer.mode,
    stripe_account_id: stripeAccount,
    stripe_customer_id: customer.stripe_customer_id as string,
    metadata_keys: JSON.stringify(Object.keys(stripeFields(customer).metadata)),
    // Nothing pushed yet: the update queued here is the first push.
    pushed_version: null,
    created: at,
    updated: at,
  });
  const payload: UpdatePayload = { v: 1, version: customer.version };
  await insertJob(trx, newJob(updateCustomer.type, customer, payload, at));
}

async function enqueueUpdate(trx: Transaction<Database>, customer: CustomerRow, lock: boolean, at: number) {
  // Jobs before the link: a provisioning job that finishes meanwhile commits its link with its
  // success, so one of the two reads sees it.
  const jobs = await unfinishedJobsOf(trx, customer.id, lock);
  const provisioning = jobs.some((j) => j.type === provisionCustomer.type);
  if (!provisioning && !(await findLink(trx, customer.id))) return;
  const updates = jobs.filter((j) => j.type === updateCustomer.type);
  // A waiting update reads the customer when it runs, so it will carry this change too.
  if (updates.some((j) => j.state === 'queued')) return;
  const stuck = updates.filter((j) => j.state === 'failed' || j.state === 'dead');
  await setJobs(trx, seqs(stuck), {
    state: 'cancelled',
    note: 'superseded by a later update',
    finished_at: at,
  });
  const payload: UpdatePayload = { v: 1, version: customer.version };
  await insertJob(trx, newJob(updateCustomer.type, customer, payload, at));
}

async function enqueueDelete(trx: Transaction<Database>, customer: CustomerRow, lock: boolean, at: number) {
  const jobs = await unfinishedJobsOf(trx, customer.id, lock);
  const link = await findLink(trx, customer.id);
  // A provisioning job that has been tried may have made a Stripe customer: it must finish (it
  // looks for what it made once the customer is gone), and the delete job follows it.
  const tried = jobs.filter((j) => j.type === provisionCustomer.type && isTried(j));
  const moot = jobs.filter((j) => j.state !== 'running' && !tried.includes(j));
  await setJobs(trx, seqs(moot), { state: 'cancelled', note: 'customer deleted', finished_at: at });
  const stopped = tried.filter((j) => j.state === 'failed' || j.state === 'dead');
  await setJobs(trx, seqs(stopped), { state: 'queued', run_at: at, attempts: 0 });
  if (link || tried.length > 0) await insertJob(trx, newJob(deleteCustomer.type, customer, { v: 1 }, at));
}

const isTried = (job: JobRow) => job.state === 'running' || job.attempted_at !== null;
const seqs = (jobs: JobRow[]) => jobs.map((j) => j.seq);
const newJob = newStripeJob;

/** One line per mode that cannot provision, for the start-up log. */
export function provisioningNotices(gateway: StripeGateway): string[] {
  const variable: Record<Mode, string> = { test: 'STRIPE_TEST_SECRET_KEY', live: 'STRIPE_SECRET_KEY' };
  return (['test', 'live'] as const)
    .filter((mode) => !gateway.enabled(mode))
    .map((mode) => `Stripe provisioning is off for ${mode} mode: ${variable[mode]} is not set`);
}
