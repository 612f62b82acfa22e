import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import type { AuthContext } from '../accounts/keys.js';
import {
  CreateCustomerBody,
  type CreateCustomerBody as CreateParams,
} from '../customers/customers.schema.js';
import { createCustomer } from '../customers/customers.service.js';
import type { Db } from '../db/index.js';
import type { CustomerWriteHook, Origin } from '../db/write-hooks.js';
import { AppError } from '../errors.js';
import { bodyValidator } from '../http/validation.js';
import { isId } from '../ids.js';
import { type Format, ImportFileError, readRows } from './import.read.js';

// `customers import`: every row through the same validation and the same write as
// `POST /v1/customers` (its events say `source: "import"`, its Stripe jobs are queued alike).
// Rows are written BATCH at a time, all of a batch in flight together, so group commit makes
// them a few transactions of up to a few hundred creates each: neither one commit per row nor
// one transaction for the whole file. The file is read twice: once to refuse a file that cannot
// be imported before anything is written (unknown columns or keys, CSV that does not parse),
// once to import it, so memory holds one batch whatever the file's size.

const BATCH = 1000;
/** Ids or hashes per lookup, within both dialects' bound-parameter limits. */
const LOOKUP = 500;

export interface ImportOptions {
  db: Db;
  hooks: readonly CustomerWriteHook[];
  accountId: string;
  mode: 'test' | 'live';
  path: string;
  format: Format;
  dryRun: boolean;
}

export interface ImportSummary {
  created: number;
  skipped: number;
  failed: number;
  errors: { line: number; param: string | null; message: string }[];
}

export { ImportFileError };

const validate = bodyValidator(CreateCustomerBody);

/**
 * What "the same row" means for a second run: the create's parameters, keys sorted. Only this
 * hash is kept, and it is deleted with the customer.
 */
function rowHash(params: Record<string, unknown>): string {
  const sorted = (value: unknown): unknown =>
    value && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(
          Object.keys(value)
            .sort()
            .map((k) => [k, sorted((value as Record<string, unknown>)[k])]),
        )
      : value;
  return createHash('sha256')
    .update(JSON.stringify(sorted(params)))
    .digest('hex');
}

interface Ready {
  line: number;
  params: CreateParams;
  hash: string;
  id?: string;
}

async function existing(
  opts: ImportOptions,
  batch: Ready[],
): Promise<{ hashes: Set<string>; ids: Set<string> }> {
  const hashes = new Set<string>();
  const ids = new Set<string>();
  const reader = opts.db.reader;
  for (let i = 0; i < batch.length; i += LOOKUP) {
    const chunk = batch.slice(i, i + LOOKUP);
    const rows = await reader
      .selectFrom('customer_imports')
      .select('row_hash')
      .where('account_id', '=', opts.accountId)
      .where('mode', '=', opts.mode)
      .where(
        'row_hash',
        'in',
        chunk.map((r) => r.hash),
      )
      .execute();
    for (const row of rows) hashes.add(row.row_hash);
    const named = chunk.map((r) => r.id).filter((id): id is string => id !== undefined && isId('cus', id));
    if (named.length > 0) {
      const found = await reader
        .selectFrom('customers')
        .select('id')
        .where('account_id', '=', opts.accountId)
        .where('mode', '=', opts.mode)
        .where('id', 'in', named)
        .execute();
      for (const row of found) ids.add(row.id);
    }
  }
  return { hashes, ids };
}

/** Reads the whole file once, writing nothing: a file that cannot be imported throws here. */
async function checkFile(path: string, format: Format): Promise<void> {
  if (!(await stat(path)).isFile()) throw new ImportFileError(`${path} is not a file.`);
  for await (const _ of readRows(path, format));
}

export async function importCustomers(opts: ImportOptions): Promise<ImportSummary> {
  await checkFile(opts.path, opts.format);
  const summary: ImportSummary = { created: 0, skipped: 0, failed: 0, errors: [] };
  const fail = (line: number, param: string | null, message: string) => {
    summary.failed++;
    summary.errors.push({ line, param, message });
  };
  const auth: AuthContext = { accountId: opts.accountId, mode: opts.mode, keyId: 'import' };
  const origin: Origin = { requestId: null, idempotencyKey: null, source: 'import' };
  const deps = { db: opts.db, hooks: opts.hooks };
  // Rows of this run: a row repeated in the file is the same row, made once.
  const seen = new Set<string>();

  const flush = async (batch: Ready[]) => {
    const { hashes, ids } = await existing(opts, batch);
    const todo = batch.filter((row) => {
      const skip = hashes.has(row.hash) || (row.id !== undefined && ids.has(row.id)) || seen.has(row.hash);
      seen.add(row.hash);
      if (skip) summary.skipped++;
      return !skip;
    });
    if (opts.dryRun) {
      summary.created += todo.length;
      return;
    }
    const outcomes = await Promise.allSettled(
      todo.map((row) =>
        createCustomer(deps, auth, row.params, origin, async (trx, response) => {
          await trx
            .insertInto('customer_imports')
            .values({
              account_id: opts.accountId,
              mode: opts.mode,
              row_hash: row.hash,
              customer_id: (response.body as { id: string }).id,
              created: Math.floor(Date.now() / 1000),
            })
            .execute();
        }),
      ),
    );
    outcomes.forEach((outcome, i) => {
      const row = todo[i] as Ready;
      if (outcome.status === 'fulfilled') summary.created++;
      else if (outcome.reason instanceof AppError)
        fail(row.line, outcome.reason.param ?? null, outcome.reason.message);
      else fail(row.line, null, `The row could not be written: ${(outcome.reason as Error).message}`);
    });
  };

  let batch: Ready[] = [];
  for await (const row of readRows(opts.path, opts.format)) {
    if ('error' in row) {
      fail(row.line, row.error.param, row.error.message);
      continue;
    }
    const invalid = validate(row.params);
    if (invalid) {
      fail(row.line, invalid.param ?? null, invalid.message);
      continue;
    }
    batch.push({ line: row.line, params: row.params as CreateParams, hash: rowHash(row.params), id: row.id });
    if (batch.length === BATCH) {
      await flush(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await flush(batch);
  summary.errors.sort((a, b) => a.line - b.line);
  return summary;
}
