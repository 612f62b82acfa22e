import type { CustomerWriteHook } from '../db/write-hooks.js';
import { eraseResponsesShowing } from '../idempotency/idempotency.service.js';
import { notFound } from './customers.service.js';

/**
 * A customer write hook: when a customer is deleted, every stored response that held it becomes
 * the 404 the customer now gets, in the delete's transaction. Its personal data is gone from the
 * idempotency table too, and a replay does nothing but say the customer is missing.
 */
export const eraseDeletedCustomer: CustomerWriteHook = async (trx, event) => {
  if (event.type !== 'deleted') return;
  const { customer } = event;
  const owner = { accountId: customer.account_id, mode: customer.mode };
  await eraseResponsesShowing(trx, owner, customer.id, notFound(customer.id));
};
