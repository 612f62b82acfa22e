import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import type { LogLevel } from './config.js';

/** What code that logs is given, as pino declares it: the server's logger, a child of it, the worker's. */
export type Log = Pick<Logger, 'info' | 'warn' | 'error'>;

/** Errors are logged by type, message, code and stack only: drivers attach row values elsewhere. */
function serializeError(error: Error): {
  type: string;
  message: string;
  stack: string;
  [key: string]: unknown;
} {
  return {
    type: error.name,
    message: error.message,
    code: (error as { code?: unknown }).code,
    stack: error.stack ?? '',
  };
}

/** The options every logger of this project is made with, the server's included. */
export function loggerOptions(level: LogLevel): LoggerOptions & { level: LogLevel } {
  return { level, serializers: { err: serializeError } };
}

/** JSON lines for processes without an HTTP server (the worker), so their logs read like the server's. */
export function jsonLogger(level: LogLevel, stream: DestinationStream = process.stdout): Log {
  return pino(loggerOptions(level), stream);
}
