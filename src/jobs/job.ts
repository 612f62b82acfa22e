import type { Transaction } from 'kysely';
import type { Db } from '../db/index.js';
import type { Database } from '../db/schema.js';
import { StripeCallError, type StripeGateway } from '../stripe/gateway.js';
import type { JobRow } from './jobs.store.js';

/** What every job type sees when it runs. */
export interface JobContext {
  db: Db;
  gateway: StripeGateway;
  /** the claimed job: `attempts` already counts this attempt */
  job: JobRow;
  /** when the attempt before this one started, or null on the first */
  previousAttemptAt: number | null;
  now(): number;
  timing: RecoveryTiming;
}

/** How long to trust Stripe's memory of an idempotency key, and how long a call can take. */
export interface RecoveryTiming {
  /** after this long, a retry cannot count on Stripe replaying the key (Stripe keeps them ~24 h) */
  keyTrustMs: number;
  /** a call may still be running in Stripe this long after it started (the client gave up sooner) */
  settleMs: number;
  /** allowance for clock difference with Stripe when looking customers up by creation time */
  clockSkewMs: number;
}

/**
 * How an attempt ended. `record` runs in the transaction that marks the job succeeded, so the
 * job's effect on the database and its completion commit together. `wait` means the attempt
 * did nothing and the job should come back at `until`: it is not counted as an attempt.
 */
export type JobOutcome =
  | { status: 'succeeded'; note?: string; record?: (trx: Transaction<Database>) => Promise<void> }
  | { status: 'retry'; error: string; payload?: string }
  | { status: 'failed'; error: string; payload?: string }
  | { status: 'wait'; until: number; note: string };

export interface JobType<P> {
  readonly type: string;
  /** reads any stored payload version and returns the current shape */
  parse(raw: string): P;
  run(ctx: JobContext, payload: P): Promise<JobOutcome>;
}

/** A failed Stripe call as an outcome: retried when Stripe says it may work later. */
export function stripeFailure(error: unknown, payload?: string): JobOutcome {
  if (!(error instanceof StripeCallError)) throw error;
  return error.retryable
    ? { status: 'retry', error: error.message, payload }
    : { status: 'failed', error: error.message, payload };
}

/**
 * Stripe stores a 500 under the request's idempotency key and answers every retry with that
 * key the same way for about 24 hours, so after one the next attempt needs another key.
 */
export const keyBurned = (error: unknown): boolean =>
  error instanceof StripeCallError && error.status === 500;

/** The idempotency key for one operation on one LuniPay customer. */
export const idempotencyKey = (customerId: string, operation: string) => `lunipay:${customerId}:${operation}`;

export function parseJson(raw: string, type: string): Record<string, unknown> & { v: unknown } {
  const value = JSON.parse(raw) as unknown;
  if (typeof value !== 'object' || value === null || !('v' in value)) {
    throw new Error(`${type}: payload has no version`);
  }
  return value as Record<string, unknown> & { v: unknown };
}

export function unknownVersion(type: string, v: unknown): Error {
  return new Error(`${type}: unknown payload version ${String(v)}`);
}
