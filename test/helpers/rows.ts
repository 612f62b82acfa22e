// Rows as the stores hold them, for tests that write or read the database without the API.
import { type Kysely, sql } from 'kysely';
import type { NewCustomerRow } from '../../src/customers/customers.store.js';
import type { Database, Mode } from '../../src/db/schema.js';
import type { DialectName } from './harness.js';

/** A customer row with nothing but who owns it and its email: names blank, the rest null. */
export function customerRow(
  id: string,
  accountId: string,
  email: string,
  mode: Mode = 'test',
): NewCustomerRow {
  return {
    id,
    account_id: accountId,
    mode,
    email,
    email_lower: email,
    first_name: '',
    last_name: '',
    phone: null,
    company_name: null,
    notes: null,
    metadata: null,
    stripe_customer_id: null,
    created: 1,
    updated: 1,
  };
}

/** The name of every table of the database, as its dialect lists them. */
export async function tableNames(db: Kysely<Database>, dialect: DialectName): Promise<string[]> {
  const tables =
    dialect === 'sqlite'
      ? await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(db)
      : await sql<{
          name: string;
        }>`select table_name as name from information_schema.tables where table_schema = current_schema()`.execute(
          db,
        );
  return tables.rows.map((r) => r.name);
}
