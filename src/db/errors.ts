import { AppError } from '../errors.js';

/**
 * Turns a driver error that means "the database is not there" into a 503, for either dialect.
 * Everything else is left alone: it is a bug, and the error handler renders it as a 500.
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
  '25P03', // idle_in_transaction_session_timeout: the session was ended (connect.ts)
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

export function translateDbError(error: unknown): unknown {
  if (isUnavailable(error)) {
    return new AppError(
      'service_unavailable',
      'The database is unavailable right now. Please retry shortly.',
    );
  }
  return error;
}
