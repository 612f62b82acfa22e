import type { Transaction } from 'kysely';
import { findCustomerById } from '../customers/customers.store.js';
import type { Database } from '../db/schema.js';
import type { CustomerWriteHook } from '../db/write-hooks.js';

/**
 * The event of the worker linking a customer to its Stripe customer: a `customer.updated` whose
 * only previous attribute is the `stripe_customer_id` it had (null, or the Stripe customer the
 * new one replaces), from `stripe_sync` (or `import`), in the
 * transaction that set it. Called right after the update, which holds the row's lock, so the
 * row read here is the one the update made.
 */
export async function recordStripeSync(
  trx: Transaction<Database>,
  customerId: string,
  writeCustomerEvent: CustomerWriteHook,
  previous: string | null = null,
  source: 'stripe_sync' | 'import' = 'stripe_sync',
): Promise<void> {
  const customer = await findCustomerById(trx, customerId);
  if (!customer) return;
  await writeCustomerEvent(trx, {
    type: 'updated',
    before: { ...customer, stripe_customer_id: previous },
    customer,
    origin: { requestId: null, idempotencyKey: null, source },
  });
}
