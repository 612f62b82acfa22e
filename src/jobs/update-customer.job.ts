import { type Static, Type } from '@sinclair/typebox';
import { connectedAccountOf } from '../accounts/accounts.store.js';
import { findCustomerById } from '../customers/customers.store.js';
import { stripeFields } from '../stripe/fields.js';
import { removedMetadataKeys, StripeCallError } from '../stripe/gateway.js';
import { idempotencyKey, type JobType, keyBurned, parsePayload, stripeFailure } from './job.js';
import { insertJob } from './jobs.store.js';
import { findLink, setLinkPushed } from './stripe-customers.store.js';
import { provisionJob } from './stripe-job-spec.js';

/**
 * Brings a Stripe customer in line with its LuniPay customer. It sends the customer as it is
 * when the job runs, not as it was when the job was made: one run covers every change before it,
 * which is why the outbox keeps at most one waiting update per customer. No personal data waits
 * in the outbox either.
 */
const UpdatePayload = Type.Object({
  v: Type.Literal(1),
  /** the customer's version that asked for this update, for operators */
  version: Type.Integer(),
  /** counts keys given up after a stored error replayed; a repeated update is harmless, so a new key is safe */
  rekey: Type.Optional(Type.Integer({ minimum: 0 })),
});
export type UpdatePayload = Static<typeof UpdatePayload>;

export const updateCustomer: JobType<UpdatePayload> = {
  type: 'update_customer',

  parse(raw) {
    return parsePayload(this.type, UpdatePayload, raw);
  },

  async run(ctx, p) {
    const { db, job } = ctx;
    const link = await findLink(db.kysely, job.customer_id);
    if (!link) return { status: 'succeeded', note: 'not in Stripe; nothing to update' };
    const connected = await connectedAccountOf(db.kysely, job.account_id);
    if (connected !== link.stripe_account_id) {
      // Disconnected: nothing is pushed, and reconnecting pushes what changed meanwhile. Moved:
      // the new connected account gets the current fields from its own provisioning job.
      const note =
        connected === null
          ? 'the account was disconnected from Stripe; not pushed'
          : 'the account is now connected to another Stripe account; not pushed to the old one';
      return { status: 'succeeded', note };
    }
    const row = await findCustomerById(db.kysely, job.customer_id);
    if (!row) return { status: 'succeeded', note: 'customer deleted; the delete job follows' };
    const fields = stripeFields(row);
    const sentBefore = Object.fromEntries((JSON.parse(link.metadata_keys) as string[]).map((k) => [k, '']));
    try {
      // This job at this version of the row names exactly what is sent: a retry after a lost
      // answer replays, and a change in between makes a new request.
      await ctx.gateway.updateCustomer(
        job.mode,
        link.stripe_account_id,
        link.stripe_customer_id,
        { ...fields, unsetMetadataKeys: removedMetadataKeys(sentBefore, fields.metadata) },
        idempotencyKey(job.customer_id, `update:${job.id}:v${row.version}${p.rekey ? `:${p.rekey}` : ''}`),
      );
    } catch (error) {
      if (error instanceof StripeCallError && error.status === 404 && error.code === 'resource_missing') {
        // Deleted in Stripe outside LuniPay (the merchant's dashboard, say): a new Stripe
        // customer is made with the current fields, and linked in place of the old one.
        const at = ctx.now();
        const customer = { id: job.customer_id, account_id: job.account_id, mode: job.mode };
        return {
          status: 'succeeded',
          note: 'the Stripe customer was deleted outside LuniPay; a new one is made',
          record: (trx) =>
            insertJob(trx, provisionJob(customer, link.stripe_account_id, at, link.stripe_customer_id)),
        };
      }
      return stripeFailure(
        error,
        keyBurned(error) ? JSON.stringify({ ...p, rekey: (p.rekey ?? 0) + 1 }) : undefined,
      );
    }
    const keys = JSON.stringify(Object.keys(fields.metadata));
    return {
      status: 'succeeded',
      record: (trx) => setLinkPushed(trx, job.customer_id, { keys, version: row.version }, ctx.now()),
    };
  },
};
