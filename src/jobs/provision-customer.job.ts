import { type Static, Type } from '@sinclair/typebox';
import type { Transaction } from 'kysely';
import { connectedAccountOf } from '../accounts/accounts.store.js';
import { findCustomerById, setStripeCustomerId } from '../customers/customers.store.js';
import type { Database } from '../db/schema.js';
import { stripeFields } from '../stripe/fields.js';
import {
  idempotencyKey,
  type JobContext,
  type JobOutcome,
  type JobType,
  keyBurned,
  keyRefused,
  parsePayload,
  stripeFailure,
} from './job.js';
import { deleteLink, findLink, insertLink } from './stripe-customers.store.js';
import { recordStripeSync } from './stripe-sync.event.js';

/**
 * Creates the Stripe customer of a LuniPay customer on its merchant's connected account.
 *
 * Exactly once: every attempt sends the same idempotency key, so a retry after a crash, a lost
 * answer, a timeout, a 409, a 429 or a fresh 5xx gets Stripe's stored answer (or simply works)
 * instead of making a second customer. The key is given up only when Stripe's answer under it
 * is final: a stored error it replays (`Idempotent-Replayed: true`), or `idempotency_error`
 * because the customer changed since a call that went through. Stripe also forgets keys after
 * about 24 hours. In those cases, and when the customer was deleted meanwhile, the job first
 * looks for what an earlier attempt may have made (`lunipay_customer_id` in its metadata,
 * created since the key was first used), and only then creates under a fresh key.
 *
 * The same job makes a replacement: for a Stripe customer deleted outside LuniPay (`replaces`
 * names it), and on the account's new connected account when it changed. The replacement has a
 * key of its own, so Stripe's stored answer to the first create is not replayed.
 */
const ProvisionPayload = Type.Object({
  v: Type.Literal(1),
  /** the connected account to provision into */
  stripeAccount: Type.String(),
  /** bumped when a key is retired, after checking nothing was created under it */
  keyGeneration: Type.Integer({ minimum: 0 }),
  /** when the current key came into use; null means the job's first attempt */
  keySince: Type.Union([Type.Number(), Type.Null()]),
  /** Stripe's answer under the key is final (or unknown): look before creating */
  verify: Type.Boolean(),
  /**
   * With `verify`: Stripe replayed a stored error, so the one call under the key is over and
   * there is nothing to wait for before looking. Without it the outcome may still be running.
   */
  settled: Type.Optional(Type.Boolean()),
  /** the Stripe customer this one replaces (deleted in Stripe, or on the old connected account) */
  replaces: Type.Optional(Type.String()),
});
export type ProvisionPayload = Static<typeof ProvisionPayload>;

export const provisionCustomer: JobType<ProvisionPayload> = {
  type: 'provision_customer',

  parse(raw) {
    return parsePayload(this.type, ProvisionPayload, raw);
  },

  async run(ctx, p) {
    const { db, job } = ctx;
    const link = await findLink(db.kysely, job.customer_id);
    if (link && link.stripe_customer_id !== p.replaces)
      return { status: 'succeeded', note: 'already provisioned' };
    const connected = await connectedAccountOf(db.kysely, job.account_id);
    if (connected !== p.stripeAccount) {
      // Nothing is pushed to an account that is no longer connected; connecting one (again)
      // queues what it needs (see stripe-backfill.ts).
      const note =
        connected === null
          ? 'the account was disconnected from Stripe; not provisioned'
          : 'the account is now connected to another Stripe account; provisioned there by its own job';
      return { status: 'succeeded', note };
    }
    const row = await findCustomerById(db.kysely, job.customer_id);
    const now = ctx.now();
    const triedBefore = ctx.previousAttemptAt !== null;
    const keySince = p.keySince ?? job.first_attempt_at ?? now;
    const keyForgotten = triedBefore && now - keySince > ctx.timing.keyTrustMs;

    let payload = p;
    if (triedBefore && (p.verify || keyForgotten || !row)) {
      // The wait is for a call whose outcome is unknown (a timeout, a lost answer) and may still
      // be running in Stripe: a look-up now could miss what it is about to make.
      const known = p.verify && p.settled === true && !keyForgotten;
      const settledAt = (ctx.previousAttemptAt ?? now) + ctx.timing.settleMs;
      if (!known && now < settledAt) {
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
        return linked(
          ctx,
          p,
          found.id,
          found.metadataKeys,
          null,
          'found the customer an earlier attempt made',
        );
      if (!row) return { status: 'succeeded', note: 'customer deleted before provisioning; none was made' };
      // Nothing was made under the old key, so a new one cannot duplicate anything.
      payload = {
        ...p,
        keyGeneration: p.keyGeneration + 1,
        keySince: now,
        verify: false,
        settled: undefined,
      };
    } else if (!row) {
      return { status: 'succeeded', note: 'customer deleted before provisioning; nothing sent' };
    }

    const fields = stripeFields(row);
    const base = payload.replaces === undefined ? 'create' : `recreate:${payload.replaces}`;
    const operation = payload.keyGeneration === 0 ? base : `${base}:${payload.keyGeneration}`;
    const changed = payload === p ? undefined : JSON.stringify(payload);
    try {
      const { id } = await ctx.gateway.createCustomer(
        job.mode,
        payload.stripeAccount,
        fields,
        idempotencyKey(job.customer_id, operation),
      );
      return linked(ctx, payload, id, Object.keys(fields.metadata), row.version);
    } catch (error) {
      // A stored error replayed is over: look at once. A key refused as reused was used by a call
      // whose answer was lost, and which may still be running: look after it settled.
      const burned = keyBurned(error);
      if (burned || keyRefused(error)) {
        return {
          status: 'retry',
          error: (error as Error).message,
          payload: JSON.stringify({ ...payload, verify: true, settled: burned }),
          runAt: burned ? ctx.now() : undefined,
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
  /** the customer's version whose fields the Stripe customer holds; null when not known */
  sentVersion: number | null,
  note?: string,
): JobOutcome {
  const { job } = ctx;
  const now = ctx.now();
  return {
    status: 'succeeded',
    note,
    async record(trx: Transaction<Database>) {
      // When the customer was deleted meanwhile this changes nothing, and the delete job that
      // follows removes the Stripe customer through the link.
      const previous = p.replaces ?? null;
      const seconds = Math.floor(now / 1000);
      const set = await setStripeCustomerId(trx, job.customer_id, stripeCustomerId, seconds, previous);
      if (set) await recordStripeSync(trx, job.customer_id, ctx.eventHook, previous);
      if (p.replaces !== undefined) await deleteLink(trx, job.customer_id);
      await insertLink(trx, {
        customer_id: job.customer_id,
        account_id: job.account_id,
        mode: job.mode,
        stripe_account_id: p.stripeAccount,
        stripe_customer_id: stripeCustomerId,
        metadata_keys: JSON.stringify(metadataKeys),
        // Setting the Stripe id moved the version on by one; the fields Stripe has are still these.
        pushed_version: sentVersion === null ? null : sentVersion + (set ? 1 : 0),
        created: now,
        updated: now,
      });
    },
  };
}
