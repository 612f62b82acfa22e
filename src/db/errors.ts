/**
 * Database errors, either dialect, sorted into two kinds: "the database is not there" (a 503 that
 * a retry may cure) and everything else (a bug, rendered as a 500 by the error handler).
 *
 * That is all the translation there is, by design. Constraint errors would be the other kind a
 * service translates (a duplicate key as a 409, say), but users cannot cause them here: every id
 * is made by the server, and the one key a request brings (Idempotency-Key) is inserted with
 * `on conflict do nothing`. A constraint error is therefore a bug too.
 */
const PG_UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
  '25P03', // idle_in_transaction_session_timeout: the session was ended (postgres.ts)
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
]);

const SQLITE_UNAVAILABLE_CODES = new Set([
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_CANTOPEN',
  'SQLITE_IOERR',
  'SQLITE_FULL',
  'SQLITE_READONLY',
]);

const UNAVAILABLE_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'The database connection is not open',
  'Cannot use a pool after calling end',
  'Client was closed and is not queryable',
];

/** Whether `error` says the database cannot be reached or cannot take the work right now. */
export function isUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (PG_UNAVAILABLE_CODES.has(code)) return true;
    if ([...SQLITE_UNAVAILABLE_CODES].some((c) => code.startsWith(c))) return true;
  }
  if (error instanceof AggregateError && error.errors.some(isUnavailable)) return true;
  return UNAVAILABLE_MESSAGES.some((m) => error.message.includes(m));
}
