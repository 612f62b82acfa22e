import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import type { AuthContext } from '../accounts/keys.js';
import type { Customer } from '../customers/customers.schema.js';
import { toCustomer } from '../customers/customers.service.js';
import * as customers from '../customers/customers.store.js';
import type { Db } from '../db/index.js';
import { createdRange } from '../http/pagination.js';
import type { ExportCustomersQuery } from './search.schema.js';

// The export: every matching customer, newest first, read by keyset a page at a time and
// written as the client reads. The stream is pulled: the next page is read only when the
// previous one has been taken by the socket, so a client that reads slowly (or not at all)
// holds the server to one page, and the export costs the same memory at any size. Walking down
// by id, a customer created meanwhile (a newer id) is never met, and none is met twice.

/** RFC 4180: CRLF between records; a cell with any line break is quoted, not only one with CRLF. */
const CSV_OPTIONS = { record_delimiter: '\r\n', quoted_match: /[\r\n]/ };

/** Customers read per query. */
export const EXPORT_PAGE = 500;

export const CSV_COLUMNS = [
  'id',
  'email',
  'first_name',
  'last_name',
  'phone',
  'company_name',
  'notes',
  'metadata',
  'stripe_customer_id',
  'livemode',
  'created',
  'updated',
] as const;

/**
 * Spreadsheets run a cell that begins with one of these as a formula; a `'` before it makes it
 * text. A cell that already begins with `'` and one of them gets one too, so that an import,
 * which removes one leading `'` before them, gives back exactly what was exported.
 */
const FORMULA_START = /^'*[=+\-@\t\r]/;
export const guardCell = (cell: string): string => (FORMULA_START.test(cell) ? `'${cell}` : cell);
export const unguardCell = (cell: string): string =>
  FORMULA_START.test(cell) && cell.startsWith("'") ? cell.slice(1) : cell;

export function csvCells(customer: Customer): string[] {
  const text = (value: string | null) => (value === null ? '' : guardCell(value));
  return [
    customer.id,
    text(customer.email),
    text(customer.first_name),
    text(customer.last_name),
    text(customer.phone),
    text(customer.company_name),
    text(customer.notes),
    customer.metadata === null ? '' : guardCell(JSON.stringify(customer.metadata)),
    text(customer.stripe_customer_id),
    String(customer.livemode),
    String(customer.created),
    String(customer.updated),
  ];
}

export interface Export {
  contentType: string;
  filename: string;
  body: Readable;
}

export async function exportCustomers(
  db: Db,
  auth: AuthContext,
  query: ExportCustomersQuery,
): Promise<Export> {
  const format = query.format ?? 'ndjson';
  const owner = { accountId: auth.accountId, mode: auth.mode };
  const filter = { emailLower: query.email?.toLowerCase(), created: createdRange(query.created) };
  const read = (cursor: string | undefined) =>
    customers.listCustomers(db.reader, owner, { limit: EXPORT_PAGE, cursor, direction: 'older' }, filter);
  const render = (rows: customers.CustomerRow[]) =>
    format === 'ndjson'
      ? rows.map((row) => `${JSON.stringify(toCustomer(row))}\n`).join('')
      : stringify(
          rows.map((row) => csvCells(toCustomer(row))),
          CSV_OPTIONS,
        );
  // The first page is read before answering, so a database that is down is a 503, not a cut stream.
  const first = await read(undefined);
  async function* pages(): AsyncGenerator<string> {
    if (format === 'csv') yield stringify([[...CSV_COLUMNS]], CSV_OPTIONS);
    let rows = first;
    for (;;) {
      const shown = rows.slice(0, EXPORT_PAGE);
      if (shown.length > 0) yield render(shown);
      if (rows.length <= EXPORT_PAGE) return;
      rows = await read(shown[shown.length - 1]?.id);
    }
  }
  const date = new Date().toISOString().slice(0, 10);
  return {
    contentType: format === 'ndjson' ? 'application/x-ndjson' : 'text/csv; charset=utf-8',
    filename: `customers-${auth.mode}-${date}.${format}`,
    body: Readable.from(pages(), { objectMode: false, highWaterMark: 1 }),
  };
}
