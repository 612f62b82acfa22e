import { Ajv } from 'ajv';
import { getAccount } from '../accounts/accounts.service.js';
import type { CreateCustomerBody } from '../customers/customers.schema.js';
import { CreateCustomerBody as CreateCustomerSchema } from '../customers/customers.schema.js';
import { createCustomer } from '../customers/customers.service.js';
import { findCustomerById, setStripeCustomerId } from '../customers/customers.store.js';
import type { Db } from '../db/index.js';
import type { Mode } from '../db/schema.js';
import type { Origin } from '../db/write-hooks.js';
import { AppError } from '../errors.js';
import { METADATA_MAX_KEYS } from '../http/metadata.js';
import { unfinishedJobsOf } from '../jobs/jobs.store.js';
import { stripeOutbox } from '../jobs/outbox.js';
import { provisionCustomer } from '../jobs/provision-customer.job.js';
import { findLink, findLinkByStripeId, insertLink } from '../jobs/stripe-customers.store.js';
import { recordStripeSync } from '../jobs/stripe-sync.event.js';
import { writeEventAndDeliveries } from '../webhooks/deliveries.enqueue.js';
import { stripeFields } from './fields.js';
import { LUNIPAY_ID_KEY, type StripeGateway } from './gateway.js';
import type { ListedCustomer, StripeReader } from './reader.js';

/**
 * `stripe import`: brings a connected account's existing Stripe customers into LuniPay.
 *
 * One whose `lunipay_customer_id` names a customer of the account and mode is linked to it. Any
 * other with an email becomes a LuniPay customer, made through the customers write path the API
 * uses (its event, with `request.source: "import"`, and its outbox), born linked: the outbox then
 * queues the update that pushes `lunipay_customer_id` into the Stripe customer, and no create is
 * ever sent. Until that push lands, the link (by Stripe id) is what makes a second run link
 * instead of creating again. The rest are skipped and reported, by Stripe id and field name
 * only: no personal data in the summary.
 */

export interface ImportProblem {
  stripe_customer_id: string;
  /** false when the customer was imported but something of it was left out */
  skipped: boolean;
  message: string;
}

export interface ImportSummary {
  linked: number;
  created: number;
  skipped: number;
  errors: ImportProblem[];
}

export interface ImportDeps {
  db: Db;
  gateway: StripeGateway;
  reader: StripeReader;
}

const validate = new Ajv({ allErrors: false, strict: false, unicodeRegExp: true }).compile(
  CreateCustomerSchema,
);

const ORIGIN: Origin = { requestId: null, idempotencyKey: null, source: 'import' };

/** How a Stripe customer maps to a LuniPay one: name split at its last space, description as notes, no `lunipay_` keys. */
export function customerFromStripe(c: ListedCustomer): { body: CreateCustomerBody; droppedKeys: number } {
  const body: CreateCustomerBody = { email: c.email ?? '' };
  const name = c.name ?? '';
  const space = name.lastIndexOf(' ');
  if (name !== '') {
    body.first_name = space === -1 ? name : name.slice(0, space);
    if (space !== -1) body.last_name = name.slice(space + 1);
  }
  if (c.phone) body.phone = c.phone;
  if (c.description) body.notes = c.description;
  const keys = Object.keys(c.metadata)
    .filter((key) => !key.startsWith('lunipay_'))
    .sort();
  const kept = keys.slice(0, METADATA_MAX_KEYS);
  if (kept.length > 0)
    body.metadata = Object.fromEntries(kept.map((key) => [key, c.metadata[key] as string]));
  return { body, droppedKeys: keys.length - kept.length };
}

/** The first field LuniPay refuses, by name, or null. */
function refusal(body: CreateCustomerBody): string | null {
  if (validate(body)) return null;
  const error = validate.errors?.[0];
  const field = (error?.instancePath ?? '').replace(/^\//, '').split('/')[0] || 'customer';
  const stripeField = { first_name: 'name', last_name: 'name', notes: 'description' }[field] ?? field;
  return `its ${stripeField} is not one LuniPay accepts (${error?.message ?? 'invalid'})`;
}

export async function importFromStripe(
  deps: ImportDeps,
  accountId: string,
  mode: Mode,
  opts: { dryRun: boolean },
): Promise<ImportSummary> {
  const account = await getAccount(deps.db, accountId);
  const stripeAccount = account.stripe_account_id;
  if (stripeAccount === null) {
    throw new AppError(
      'parameter_invalid',
      `Account ${accountId} has no connected Stripe account.`,
      'account',
    );
  }
  if (!deps.reader.enabled(mode) || !deps.gateway.enabled(mode)) {
    throw new AppError('parameter_invalid', `No ${mode}-mode platform Stripe key is configured.`, 'mode');
  }
  const scope = { accountId, mode, stripeAccount };
  const auth = { accountId, mode, keyId: 'import' };
  const customerDeps = {
    db: deps.db,
    hooks: [stripeOutbox({ gateway: deps.gateway, locksRows: deps.db.locksRows }), writeEventAndDeliveries],
  };
  const summary: ImportSummary = { linked: 0, created: 0, skipped: 0, errors: [] };
  const skip = (c: ListedCustomer, message: string) => {
    summary.skipped++;
    summary.errors.push({ stripe_customer_id: c.id, skipped: true, message });
  };

  for await (const c of deps.reader.customers(mode, stripeAccount)) {
    const named = c.metadata[LUNIPAY_ID_KEY];
    const row = named === undefined ? undefined : await findCustomerById(deps.db.kysely, named);
    if (row && row.account_id === accountId && row.mode === mode) {
      const link = await findLink(deps.db.kysely, row.id);
      if (link && link.stripe_customer_id !== c.id) {
        skip(c, `its ${LUNIPAY_ID_KEY} names ${row.id}, which is linked to another Stripe customer`);
        continue;
      }
      if (!link && (await provisioningUnderWay(deps.db, row.id))) {
        // Its own create may be in Stripe already, or about to be: linking this one as well
        // could leave two. Once that job is done, the next run links or reports it.
        skip(c, `its LuniPay customer ${row.id} is being provisioned; run the import again once it is done`);
        continue;
      }
      if (!link && !opts.dryRun) await linkExisting(deps.db, row.id, stripeAccount, c.id);
      summary.linked++;
      continue;
    }
    // Imported by an earlier run whose push of lunipay_customer_id has not landed yet.
    if (await findLinkByStripeId(deps.db.kysely, scope, c.id)) {
      summary.linked++;
      continue;
    }
    if (!c.email) {
      skip(c, 'it has no email, which every LuniPay customer needs');
      continue;
    }
    const { body, droppedKeys } = customerFromStripe(c);
    const refused = refusal(body);
    if (refused !== null) {
      skip(c, refused);
      continue;
    }
    if (droppedKeys > 0) {
      summary.errors.push({
        stripe_customer_id: c.id,
        skipped: false,
        message: `imported with the first ${METADATA_MAX_KEYS} metadata keys by name; ${droppedKeys} more left out`,
      });
    }
    if (!opts.dryRun) await createCustomer(customerDeps, auth, body, ORIGIN, undefined, c.id);
    summary.created++;
  }
  return summary;
}

/** Whether a provisioning job of the customer is running, or was tried and is not finished. */
async function provisioningUnderWay(db: Db, customerId: string): Promise<boolean> {
  const jobs = await unfinishedJobsOf(db.kysely, customerId, false);
  return jobs.some(
    (j) => j.type === provisionCustomer.type && (j.state === 'running' || j.attempted_at !== null),
  );
}

/** Links an existing LuniPay customer to the Stripe customer that names it, with its event. */
async function linkExisting(db: Db, customerId: string, stripeAccount: string, stripeCustomerId: string) {
  await db.kysely.transaction().execute(async (trx) => {
    const row = await findCustomerById(trx, customerId);
    if (!row || (await findLink(trx, customerId))) return;
    const now = Date.now();
    const previous = row.stripe_customer_id;
    const set = await setStripeCustomerId(trx, row.id, stripeCustomerId, Math.floor(now / 1000), previous);
    if (set) await recordStripeSync(trx, row.id, writeEventAndDeliveries, previous, 'import');
    await insertLink(trx, {
      customer_id: row.id,
      account_id: row.account_id,
      mode: row.mode,
      stripe_account_id: stripeAccount,
      stripe_customer_id: stripeCustomerId,
      metadata_keys: JSON.stringify(Object.keys(stripeFields(row).metadata)),
      // The merchant's Stripe customer already named it: LuniPay has pushed nothing to it yet.
      pushed_version: null,
      created: now,
      updated: now,
    });
  });
}
