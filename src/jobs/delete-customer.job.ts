import { type Static, Type } from '@sinclair/typebox';
import { idempotencyKey, type JobType, keyBurned, parsePayload, stripeFailure } from './job.js';
import { deleteLink, findLink } from './stripe-customers.store.js';

/**
 * Deletes the Stripe customer of a deleted LuniPay customer, through the link, which outlives
 * the customer row for this purpose. If a provisioning attempt was still unresolved when the
 * customer was deleted, it runs first (per-customer order) and leaves a link for what it made.
 */
const DeletePayload = Type.Object({
  v: Type.Literal(1),
  /** counts keys given up after a stored 500; deleting twice is harmless, so a new key is safe */
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
