import type { Mode } from '../db/schema.js';
import { newId } from '../ids.js';
import { type NewJob, queuedJob } from './jobs.store.js';
import { type ProvisionPayload, provisionCustomer } from './provision-customer.job.js';

/** The customer a Stripe job is for: its id, and the account and mode that own it. */
export interface JobCustomer {
  id: string;
  account_id: string;
  mode: Mode;
}

/** A Stripe job for one customer, queued to run from `at`. */
export function newStripeJob(type: string, customer: JobCustomer, payload: object, at: number): NewJob {
  const spec = {
    id: newId('job'),
    type,
    customer_id: customer.id,
    account_id: customer.account_id,
    mode: customer.mode,
    payload: JSON.stringify(payload),
    // A customer's Stripe jobs run one after another, in the order they were made.
    ordering_key: customer.id,
    event_id: null,
    endpoint_id: null,
  };
  return queuedJob(spec, at);
}

/**
 * A job that provisions `customer` into `stripeAccount`; with `replaces`, one that makes a new
 * Stripe customer in place of that one (deleted in Stripe, or left on the old connected account).
 */
export function provisionJob(
  customer: JobCustomer,
  stripeAccount: string,
  at: number,
  replaces?: string,
): NewJob {
  const payload: ProvisionPayload = { v: 1, stripeAccount, keyGeneration: 0, keySince: null, verify: false };
  if (replaces !== undefined) payload.replaces = replaces;
  return newStripeJob(provisionCustomer.type, customer, payload, at);
}
