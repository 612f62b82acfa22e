import type { Transaction } from 'kysely';
import * as accounts from '../accounts/accounts.service.js';
import type { Db } from '../db/index.js';
import type { Database, Mode } from '../db/schema.js';
import type { Log } from '../log.js';
import type { StripeGateway } from '../stripe/gateway.js';
import { deleteCustomer } from './delete-customer.job.js';
import { insertJobs, type NewJob } from './jobs.store.js';
import * as store from './stripe-backfill.store.js';
import { newStripeJob, provisionJob } from './stripe-job-spec.js';
import { updateCustomer } from './update-customer.job.js';

/**
 * Backfill: the jobs that bring a connected account up to date with LuniPay when the account is
 * connected (or connected anew), when a process starts with a mode's platform key, and on demand
 * (`stripe backfill`). It only queues jobs; the worker does the Stripe calls, with every rule of
 * the ordinary jobs (one key per customer, look before a new key), so a customer queued twice is
 * still made once: its second job finds the link and stops.
 *
 * It reads and queues one keyset page at a time, each page in a short transaction of its own
 * (`Db.kysely`, as background work does), so a million customers never sit in memory and a
 * request's write never waits for more than one page. A crash midway loses nothing: the next
 * backfill (every start-up runs one) finds the customers still missing.
 */

/** Customers read and queued per transaction. */
export const BACKFILL_PAGE = 500;

export interface BackfillDeps {
  db: Db;
  gateway: StripeGateway;
  now?: () => number;
  pageSize?: number;
}

export interface BackfillOptions {
  /** one account; otherwise every account with a connected account */
  accountId?: string;
  /**
   * Also push what changed while the account was disconnected: updates of linked customers changed
   * since their last push, and deletes of customers deleted meanwhile. On connecting an account and
   * on demand; a start-up only provisions.
   */
  resume?: boolean;
}

export interface BackfillResult {
  /** jobs queued: provisioning, plus updates and deletes when resuming */
  queued: number;
}

type Page<T> = (db: Transaction<Database>, scope: store.Scope, after: string, limit: number) => Promise<T[]>;

/** Queues, page by page, one job per row that `page` finds; returns how many. */
async function queuePages<T extends { id: string }>(
  deps: BackfillDeps,
  scope: store.Scope,
  page: Page<T>,
  job: (row: T, at: number) => NewJob,
): Promise<number> {
  const now = deps.now ?? Date.now;
  const limit = deps.pageSize ?? BACKFILL_PAGE;
  let after = '';
  let queued = 0;
  for (;;) {
    const rows = await deps.db.kysely.transaction().execute(async (trx) => {
      const found = await page(trx, scope, after, limit);
      const at = now();
      await insertJobs(
        trx,
        found.map((row) => job(row, at)),
      );
      return found;
    });
    queued += rows.length;
    const last = rows.at(-1);
    if (!last || rows.length < limit) return queued;
    after = last.id;
  }
}

export async function backfill(deps: BackfillDeps, opts: BackfillOptions = {}): Promise<BackfillResult> {
  const modes = (['test', 'live'] as const).filter((mode) => deps.gateway.enabled(mode));
  let queued = 0;
  for (const account of await store.connectedAccounts(deps.db.kysely, opts.accountId)) {
    for (const mode of modes) {
      const scope = { accountId: account.id, mode, stripeAccount: account.stripe_account_id };
      queued += await queuePages(deps, scope, store.unprovisionedPage, (row, at) =>
        provisionJob(row, scope.stripeAccount, at, row.replaces ?? undefined),
      );
      if (!opts.resume) continue;
      queued += await queuePages(deps, scope, store.changedSincePushPage, (row, at) =>
        newStripeJob(updateCustomer.type, row, { v: 1, version: row.version }, at),
      );
      queued += await queuePages(deps, scope, store.orphanLinksPage, (row, at) =>
        newStripeJob(deleteCustomer.type, row, { v: 1 }, at),
      );
    }
  }
  return { queued };
}

/**
 * `accounts update --stripe-account`: connects the account (or another connected account, or
 * none), then queues what the connected account needs. Another account's customers are made
 * afresh there and the old Stripe customers are left alone; none stops every push and keeps the
 * links; the same account again resumes, pushing what changed meanwhile.
 */
export async function connectStripeAccount(
  deps: BackfillDeps,
  accountId: string,
  stripeAccountId: string | null,
): Promise<{ account: accounts.Account; queued: number }> {
  const account = await accounts.setStripeAccount(deps.db, accountId, stripeAccountId);
  if (stripeAccountId === null) return { account, queued: 0 };
  const { queued } = await backfill(deps, { accountId, resume: true });
  return { account, queued };
}

/** How many customers of connected accounts, in modes with a platform key, have no Stripe customer there yet. */
export async function countUnprovisioned(db: Db, gateway: StripeGateway): Promise<number> {
  const modes: Mode[] = (['test', 'live'] as const).filter((mode) => gateway.enabled(mode));
  return store.countUnprovisioned(db.kysely, modes);
}

/**
 * A process that starts with a platform key provisions the customers still missing from their
 * connected accounts. In the background: the process serves meanwhile.
 */
export function backfillAtStart(deps: BackfillDeps & { log: Log }): Promise<void> {
  if (!deps.gateway.enabled('test') && !deps.gateway.enabled('live')) return Promise.resolve();
  return backfill(deps).then(
    ({ queued }) => {
      if (queued > 0) deps.log.info({ queued }, 'Stripe backfill queued customers not yet provisioned');
    },
    (error: unknown) =>
      deps.log.error({ err: error }, 'Stripe backfill at start-up failed; `stripe backfill` runs it again'),
  );
}
