import type { Selectable, Transaction } from 'kysely';
import type { WriteBatch } from './group-commit.js';
import type { CustomersTable, Database } from './schema.js';

/**
 * The types through which one subsystem adds work to another's write, inside its transaction.
 * They live here, below every subsystem, so that a lower layer (idempotency) can hand work to a
 * higher one's write (customers) without importing it.
 */

/** Who asked for a write. Routes fill it from the request; a CLI command or a job says what it is. */
export interface Origin {
  /** The API request's id (`req_…`); null outside a request. */
  requestId: string | null;
  /** The `Idempotency-Key` the request was sent with; null when it had none. */
  idempotencyKey: string | null;
  source: 'api' | 'portal' | 'dashboard' | 'cli' | 'stripe_sync' | 'import';
}

/** A customer row as the table holds it (the schema's own description, `version` included). */
type CustomerRow = Selectable<CustomersTable>;

/** What a committed write did, for the subsystems that follow customers (outbox, idempotency, events). */
export type CustomerEvent = (
  | { type: 'created'; customer: CustomerRow }
  | { type: 'updated'; before: CustomerRow; customer: CustomerRow }
  | { type: 'deleted'; customer: CustomerRow }
) & { origin: Origin };

/**
 * Runs inside the write's transaction: whatever it writes commits with the customer, or not at all.
 * `batch` is there when the write runs through group commit (`Db.write`): work handed to it is
 * done once for every write of the batch, just before COMMIT.
 */
export type CustomerWriteHook = (
  trx: Transaction<Database>,
  event: CustomerEvent,
  batch?: WriteBatch,
) => Promise<void>;

/**
 * Work another subsystem adds to a write, run inside the write's own transaction so both commit
 * or neither does (an idempotency record, say). It sees the response the write will return.
 */
export type BeforeCommit = (
  trx: Transaction<Database>,
  response: { status: number; body: unknown },
) => Promise<void>;
