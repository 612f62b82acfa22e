import type { Static, TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { Transaction } from 'kysely';
import type { Dispatcher } from 'undici';
import type { Db } from '../db/index.js';
import type { Database } from '../db/schema.js';
import type { CustomerWriteHook } from '../db/write-hooks.js';
import type { SecretBox } from '../secret-key.js';
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
  /** writes the event of a change a job makes, and queues its deliveries (the API's own hook) */
  eventHook: CustomerWriteHook;
  /** what webhook deliveries need; absent in a worker that runs no webhooks lane */
  deliveries?: DeliveryContext;
}

/** What a delivery attempt needs beyond the database. */
export interface DeliveryContext {
  secretBox: SecretBox;
  /** the HTTP client whose connections honour the address rules */
  dispatcher: Dispatcher;
  /** a receiver that has not answered with a status within this long has failed the attempt */
  timeoutMs: number;
  /** delays before each retry, in ms; jittered ±20 % unless `jitter` is false */
  schedule: readonly number[];
  jitter: boolean;
  /** an endpoint whose every attempt has failed for this long is disabled */
  disableAfterMs: number;
  random(): number;
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
  | { status: 'retry'; error: string; payload?: string; runAt?: number; record?: Effect }
  | { status: 'failed'; error: string; payload?: string; record?: Effect }
  | { status: 'cancelled'; note: string }
  | { status: 'wait'; until: number; note: string };

/** Work that commits with the attempt's outcome, and only if this worker still holds the job. */
type Effect = (trx: Transaction<Database>) => Promise<void>;

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
 * The key is spent: Stripe replayed a final error it stored under it (`Idempotent-Replayed:
 * true`), which every retry with the key would get back for about 24 hours, so the next attempt
 * needs another key. A fresh error (a timeout, a network error, 409, 429, a 5xx that was not a
 * replay) keeps the key: the retry may simply work, and if the first call did go through, the
 * same key is what makes Stripe answer with its result instead of doing it again.
 */
export const keyBurned = (error: unknown): boolean =>
  error instanceof StripeCallError && error.replayed && error.status !== null && error.status >= 400;

/** Stripe refused the key as reused with other parameters: something was done under it. */
export const keyRefused = (error: unknown): boolean =>
  error instanceof StripeCallError && error.status === 400 && error.type === 'idempotency_error';

/** The idempotency key for one operation on one LuniPay customer. */
export const idempotencyKey = (customerId: string, operation: string) => `lunipay:${customerId}:${operation}`;

/**
 * Reads a stored payload: JSON that must match the schema of the version the job type reads. A
 * payload with no version, another version, or that does not match fails its job.
 */
export function parsePayload<T extends TSchema>(type: string, schema: T, raw: string): Static<T> {
  const value: unknown = JSON.parse(raw);
  if (Value.Check(schema, value)) return value;
  const v = typeof value === 'object' && value !== null ? (value as { v?: unknown }).v : undefined;
  if (v === undefined) throw new Error(`${type}: payload has no version`);
  const version = (schema as { properties?: { v?: { const?: unknown } } }).properties?.v?.const;
  if (v !== version) throw new Error(`${type}: unknown payload version ${String(v)}`);
  const error = Value.Errors(schema, value).First();
  throw new Error(
    `${type}: payload version ${String(v)} is invalid at ${error?.path || '/'}: ${error?.message}`,
  );
}
