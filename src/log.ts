import { hostname } from 'node:os';
import type { Writable } from 'node:stream';
import type { LogLevel } from './config.js';
import type { Log } from './jobs/jobs.service.js';

const LEVELS: Record<LogLevel, number> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Number.POSITIVE_INFINITY,
};

/**
 * JSON lines in pino's shape, for processes without an HTTP server (the worker), so their logs
 * read like the server's. Errors are reduced to name, message and code, as the server does.
 */
export function jsonLogger(level: LogLevel, stream: Writable = process.stdout): Log {
  const base = { pid: process.pid, hostname: hostname() };
  const write = (at: number) => (obj: object, msg: string) => {
    if (at < LEVELS[level]) return;
    const fields: Record<string, unknown> = { ...obj };
    if (fields.err instanceof Error) {
      const err = fields.err as Error & { code?: unknown };
      fields.err = { type: err.name, message: err.message, code: err.code };
    }
    stream.write(`${JSON.stringify({ level: at, time: Date.now(), ...base, ...fields, msg })}\n`);
  };
  return { info: write(30), warn: write(40), error: write(50) };
}
