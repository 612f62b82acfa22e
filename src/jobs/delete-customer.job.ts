import { type Static, Type } from '@sinclair/typebox';
import { connectedAccountOf } from '../accounts/accounts.store.js';
import { idempotencyKey, type JobType, keyBurned, parsePayload, stripeFailure } from './job.js';
import { deleteLink, findLink } from './stripe-customers.store.js';

/**
 * Deletes the Stripe customer of a deleted LuniPay customer, through the link, which outlives
 * the customer row for this purpose. If a provisioning attempt was still unresolved when the
 * customer was deleted, it runs first (per-customer order) and leaves a link for what it made.
 * A Stripe customer already deleted in Stripe counts as deleted (the gateway says so).
 */
const DeletePayload = Type.Object({
  v: Type.Literal(1),
  /** counts keys given up after a stored error replayed; deleting twice is harmless, so a new key is safe */
  rekey: Type.Optional(Type.Integer({ minimum: 0 })),
});
export type DeletePayload = Static<typeof DeletePayload>;

export const deleteCustomer: JobType<DeletePayload> = {
  type: 'delete_customer',

  parse(raw) {
    return parsePayload(this.type, DeletePayload, raw);
  },

  async run(ctx, p) {
    const { db, job } = ctx;
    const link = await findLink(db.kysely, job.customer_id);
    if (!link) return { status: 'succeeded', note: 'never made in Stripe; nothing to delete' };
    const connected = await connectedAccountOf(db.kysely, job.account_id);
    if (connected === null) {
      // Every push stops while the account is disconnected; the link is kept, and connecting the
      // same account again queues this delete anew (see stripe-backfill.ts).
      return { status: 'succeeded', note: 'the account was disconnected from Stripe; not pushed' };
    }
    if (connected !== link.stripe_account_id) {
      // The Stripe customers of an old connected account are left alone.
      const note = 'the Stripe customer is on the old connected account; left alone';
      return { status: 'succeeded', note, record: (trx) => deleteLink(trx, job.customer_id) };
    }
    try {
      await ctx.gateway.deleteCustomer(
        job.mode,
        link.stripe_account_id,
        link.stripe_customer_id,
        idempotencyKey(job.customer_id, p.rekey ? `delete:${p.rekey}` : 'delete'),
      );
    } catch (error) {
      return stripeFailure(
        error,
        keyBurned(error) ? JSON.stringify({ ...p, rekey: (p.rekey ?? 0) + 1 }) : undefined,
      );
    }
    return { status: 'succeeded', record: (trx) => deleteLink(trx, job.customer_id) };
  },
};
