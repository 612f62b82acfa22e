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

/**
 * How many digits in a row the windows' indexes key on (the phone's and the email's). Digit
 * trigrams are each held by about one value in a hundred (there are a thousand of them), so a
 * trigram index narrows a term of digits to a share of the table, and its lookups grow with the
 * table. Six digits are a key that about one value in a hundred thousand holds, so a term's few
 * keys leave a handful of candidates at any size.
 */
export const DIGIT_WINDOW = 6;

/**
 * The runs of DIGIT_WINDOW digits in `text`, each once, in the order they first come: of its
 * ASCII digits alone, the rest left out, so `+1 (415) 555-0123` has `141555`, `415555` and on.
 * The digits of any part of a text are a run of the digits of the whole, so a value that holds a
 * term holds every window of the term: a phone or email term of six digits or more is looked up
 * by its windows, whatever stands between the digits, and the exact match decides.
 */
export function digitWindows(text: string): string[] {
  const digits = text.replace(/[^0-9]/g, '');
  const windows = new Set<string>();
  for (let at = 0; at + DIGIT_WINDOW <= digits.length; at++) windows.add(digits.slice(at, at + DIGIT_WINDOW));
  return [...windows];
}

/** A text's windows as stored, space-separated: null for no text or fewer than six digits. */
export function windowsText(text: string | null): string | null {
  if (text === null) return null;
  const windows = digitWindows(text);
  return windows.length === 0 ? null : windows.join(' ');
}

export function searchRow(customer: Searchable): CustomerSearchTable {
  return {
    customer_id: customer.id,
    email: fold(customer.email),
    email_windows: windowsText(customer.email),
    name: fold(fullName(customer.first_name, customer.last_name)),
    first_name: fold(customer.first_name),
    last_name: fold(customer.last_name),
    phone: customer.phone === null ? null : fold(customer.phone),
    phone_windows: windowsText(customer.phone),
    company_name: customer.company_name === null ? null : fold(customer.company_name),
    metadata: foldedMetadata(customer.metadata),
  };
}
