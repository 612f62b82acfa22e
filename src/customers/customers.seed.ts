import type { Kysely, Transaction } from 'kysely';
import type { CustomersTable, Database } from '../db/schema.js';

type Q = Kysely<Database> | Transaction<Database>;
export type SeedRow = Omit<CustomersTable, 'version'>;

/** Columns per row; a statement stays well under both dialects' bound-parameter limits (SQLite 32766, pg 65535). */
const COLUMNS = 14;
const MAX_PARAMS = 30_000;
/** Rows per statement by default: big enough to amortise each statement, small enough to compile fast. */
export const SEED_ROWS_PER_STATEMENT = 500;

/**
 * Bulk insert for benchmarks and fixtures: multi-row `insert … values (…), (…)` statements into
 * the same table the store writes. Only the rows: no write hooks, no idempotency records, no
 * outbox jobs, so it is never for API writes. Pass a transaction to make a batch one commit
 * (one fsync on SQLite); the caller chooses how big a batch is.
 */
export async function insertCustomersBulk(
  db: Q,
  rows: readonly SeedRow[],
  rowsPerStatement = SEED_ROWS_PER_STATEMENT,
): Promise<void> {
  const step = Math.max(1, Math.min(rowsPerStatement, Math.floor(MAX_PARAMS / COLUMNS)));
  for (let i = 0; i < rows.length; i += step) {
    await db
      .insertInto('customers')
      .values(rows.slice(i, i + step) as SeedRow[])
      .execute();
  }
}
