import { type Static, Type } from '@sinclair/typebox';
import type { Transaction } from 'kysely';
import { findCustomerById, setStripeCustomerId } from '../customers/customers.store.js';
import type { Database } from '../db/schema.js';
import { stripeFields } from '../stripe/fields.js';
import { StripeCallError } from '../stripe/gateway.js';
import {
  idempotencyKey,
  type JobContext,
  type JobOutcome,
  type JobType,
  keyBurned,
  parsePayload,
  stripeFailure,
} from './job.js';
import { findLink, insertLink } from './stripe-customers.store.js';
import { recordStripeSync } from './stripe-sync.event.js';

/**
 * Creates the Stripe customer of a new LuniPay customer on its merchant's connected account.
 *
 * Exactly once: every attempt sends the same idempotency key, so a retry after a crash or a lost
 * answer gets Stripe's stored answer instead of a second customer. Stripe forgets keys after
 * about 24 hours, and refuses a key reused with other fields (the customer changed between
 * attempts). In those cases, and when the customer was deleted meanwhile, the job looks for
 * what an earlier attempt may have made (`lunipay_customer_id` in its metadata, created since
 * the key was first used) before it creates anything under a fresh key. So it does after a 500,
 * which Stripe stores under the key and would otherwise repeat to every retry for a day.
 */
const ProvisionPayload = Type.Object({
  v: Type.Literal(1),
  /** the connected account at the time the customer was created */
  stripeAccount: Type.String(),
  /** bumped when a key is retired, after checking nothing was created under it */
  keyGeneration: Type.Integer({ minimum: 0 }),
  /** when the current key came into use; null means the job's first attempt */
  keySince: Type.Union([Type.Number(), Type.Null()]),
  /** Stripe refused the key as reused: look before creating */
  verify: Type.Boolean(),
});
export type ProvisionPayload = Static<typeof ProvisionPayload>;

export const provisionCustomer: JobType<ProvisionPayload> = {
  type: 'provision_customer',

  parse(raw) {
    return parsePayload(this.type, ProvisionPayload, raw);
  },

  async run(ctx, p) {
    const { db, job } = ctx;
    if (await findLink(db.kysely, job.customer_id))
      return { status: 'succeeded', note: 'already provisioned' };
    const row = await findCustomerById(db.kysely, job.customer_id);
    const now = ctx.now();
    const triedBefore = ctx.previousAttemptAt !== null;
    const keySince = p.keySince ?? job.first_attempt_at ?? now;
    const keyForgotten = triedBefore && now - keySince > ctx.timing.keyTrustMs;

    let payload = p;
    if (triedBefore && (p.verify || keyForgotten || !row)) {
      const settledAt = (ctx.previousAttemptAt ?? now) + ctx.timing.settleMs;
      if (now < settledAt) {
        const note = 'waiting for the last attempt to settle in Stripe before looking for what it made';
        return { status: 'wait', until: settledAt, note };
      }
      let found: { id: string; metadataKeys: string[] } | null;
      try {
        const skew = ctx.timing.clockSkewMs;
        const created = { gte: Math.floor((keySince - skew) / 1000), lte: Math.ceil((now + skew) / 1000) };
        found = await ctx.gateway.findCustomer(job.mode, p.stripeAccount, job.customer_id, created);
      } catch (error) {
        return stripeFailure(error);
      }
      if (found)
        return linked(ctx, p, found.id, found.metadataKeys, 'found the customer an earlier attempt made');
      if (!row) return { status: 'succeeded', note: 'customer deleted before provisioning; none was made' };
      // Nothing was made under the old key, so a new one cannot duplicate anything.
      payload = { ...p, keyGeneration: p.keyGeneration + 1, keySince: now, verify: false };
    } else if (!row) {
      return { status: 'succeeded', note: 'customer deleted before provisioning; nothing sent' };
    }

    const fields = stripeFields(row);
    const operation = payload.keyGeneration === 0 ? 'create' : `create:${payload.keyGeneration}`;
    const changed = payload === p ? undefined : JSON.stringify(payload);
    try {
      const { id } = await ctx.gateway.createCustomer(
        job.mode,
        payload.stripeAccount,
        fields,
        idempotencyKey(job.customer_id, operation),
      );
      return linked(ctx, payload, id, Object.keys(fields.metadata));
    } catch (error) {
      // Refused as reused with other fields (the customer changed since an attempt that went
      // through), or a stored 500 that every retry would get back: look before a new key.
      const reused =
        error instanceof StripeCallError && error.status === 400 && error.type === 'idempotency_error';
      if (reused || keyBurned(error)) {
        return {
          status: 'retry',
          error: (error as Error).message,
          payload: JSON.stringify({ ...payload, verify: true }),
        };
      }
      return stripeFailure(error, changed);
    }
  },
};

/** Success: link the two customers and show the Stripe id on the LuniPay customer. */
function linked(
  ctx: JobContext,
  p: ProvisionPayload,
  stripeCustomerId: string,
  metadataKeys: string[],
  note?: string,
): JobOutcome {
  const { job } = ctx;
  const now = ctx.now();
  return {
    status: 'succeeded',
    note,
    async record(trx: Transaction<Database>) {
      await insertLink(trx, {
        customer_id: job.customer_id,
        account_id: job.account_id,
        mode: job.mode,
        stripe_account_id: p.stripeAccount,
        stripe_customer_id: stripeCustomerId,
        metadata_keys: JSON.stringify(metadataKeys),
        created: now,
        updated: now,
      });
      // When the customer was deleted meanwhile this changes nothing, and the delete job that
      // follows removes the Stripe customer through the link.
      if (await setStripeCustomerId(trx, job.customer_id, stripeCustomerId, Math.floor(now / 1000))) {
        await recordStripeSync(trx, job.customer_id, ctx.eventHook);
      }
    },
  };
}
