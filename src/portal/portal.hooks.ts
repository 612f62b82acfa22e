import type { CustomerWriteHook } from '../db/write-hooks.js';
import { deleteEmailChangesOf, deleteSessionsOf } from './portal.store.js';

/**
 * A customer write hook: a deleted customer's portal sessions go with it, in the delete's
 * transaction, so its browser sessions end at their next request and its links stop working; so
 * do its pending email changes (they hold an address of its). Sign-in links by email name the
 * customers they may sign in, and one that is gone is no longer among them.
 */
export const endPortalOfDeleted: CustomerWriteHook = async (trx, event) => {
  if (event.type !== 'deleted') return;
  await deleteSessionsOf(trx, event.customer.id);
  await deleteEmailChangesOf(trx, event.customer.id);
};
