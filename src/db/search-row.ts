import type { CustomerSearchTable, CustomersTable } from './schema.js';

// The one definition of how a customer is searched: which text each field of the query
// language looks at, and how case is folded. The customer store writes these rows with every
// write, the migration that made the table filled it from the customers already there, and the
// search compiles its terms with the same `fold`, so a value and a term always fold alike on
// both databases (neither SQLite's ASCII-only `lower()` nor PostgreSQL's collation-dependent one
// decides what matches).

/** Case folding for search: JavaScript's default lower-casing, the same as `email_lower`. */
export const fold = (value: string): string => value.toLowerCase();

/** `name` in the query language: first and last name, the non-empty ones joined by one space. */
export const fullName = (first: string, last: string): string =>
  [first, last].filter((p) => p !== '').join(' ');

type Searchable = Pick<
  CustomersTable,
  'id' | 'email' | 'first_name' | 'last_name' | 'phone' | 'company_name' | 'metadata'
>;

/** The searchable columns a change to any of these customer columns rewrites. */
export const SEARCHED_COLUMNS = [
  'email',
  'first_name',
  'last_name',
  'phone',
  'company_name',
  'metadata',
] as const;

function foldedMetadata(metadata: string | null): string | null {
  if (metadata === null) return null;
  const values = JSON.parse(metadata) as Record<string, string>;
  return JSON.stringify(Object.fromEntries(Object.entries(values).map(([key, value]) => [key, fold(value)])));
}

export function searchRow(customer: Searchable): CustomerSearchTable {
  return {
    customer_id: customer.id,
    email: fold(customer.email),
    name: fold(fullName(customer.first_name, customer.last_name)),
    first_name: fold(customer.first_name),
    last_name: fold(customer.last_name),
    phone: customer.phone === null ? null : fold(customer.phone),
    company_name: customer.company_name === null ? null : fold(customer.company_name),
    metadata: foldedMetadata(customer.metadata),
  };
}
