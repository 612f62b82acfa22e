import type { CustomerRow } from '../customers/customers.store.js';
import { LUNIPAY_ID_KEY, type StripeCustomerFields } from './gateway.js';

/** The non-empty ones of first and last name joined by a space; else the company name; else none. */
export function stripeName(
  row: Pick<CustomerRow, 'first_name' | 'last_name' | 'company_name'>,
): string | null {
  const joined = [row.first_name, row.last_name].filter((part) => part !== '').join(' ');
  return joined !== '' ? joined : row.company_name;
}

/** What Stripe holds of a customer. `notes` is internal and never leaves LuniPay. */
export function stripeFields(row: CustomerRow): StripeCustomerFields {
  const metadata: Record<string, string> = row.metadata === null ? {} : JSON.parse(row.metadata);
  return {
    email: row.email,
    name: stripeName(row),
    phone: row.phone,
    // Ours is set last, so a merchant's key of the same name cannot break the link.
    metadata: { ...metadata, [LUNIPAY_ID_KEY]: row.id },
  };
}

/** Whether a write changed anything Stripe holds (a notes-only change does not). */
export function stripeFieldsDiffer(before: CustomerRow, after: CustomerRow): boolean {
  const a = stripeFields(before);
  const b = stripeFields(after);
  return (
    a.email !== b.email || a.name !== b.name || a.phone !== b.phone || before.metadata !== after.metadata
  );
}
