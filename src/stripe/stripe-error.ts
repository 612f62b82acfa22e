import Stripe from 'stripe';
import type { Mode } from '../db/schema.js';

/**
 * A failed Stripe call, classified for the job queue. The message is built only from the
 * operation, mode, status and Stripe's error type/code/request id: Stripe's own messages can echo
 * request values (an invalid email, say), so they are never copied in, and neither is the key.
 */
export class StripeCallError extends Error {
  override readonly name = 'StripeCallError';
  readonly retryable: boolean;
  /** HTTP status, or null when no response arrived (network error, timeout) */
  readonly status: number | null;
  /** Stripe's error code, e.g. `resource_missing`, when it sent one */
  readonly code: string | null;
  /** Stripe's error type, e.g. `invalid_request_error`, `idempotency_error` */
  readonly type: string | null;
  /** Stripe's request id (`req_…`), for looking the call up in the Stripe dashboard */
  readonly requestId: string | null;
  /**
   * Stripe answered with what it had stored under the idempotency key (`Idempotent-Replayed:
   * true`): the outcome of an earlier request with that key, final, which every retry with the
   * key gets again. A fresh answer (a 500 in an incident, most often) was not stored.
   */
  readonly replayed: boolean;

  constructor(
    message: string,
    info: {
      retryable: boolean;
      status: number | null;
      code: string | null;
      type?: string | null;
      requestId?: string | null;
      replayed?: boolean;
    },
  ) {
    super(message);
    this.retryable = info.retryable;
    this.status = info.status;
    this.code = info.code;
    this.type = info.type ?? null;
    this.requestId = info.requestId ?? null;
    this.replayed = info.replayed ?? false;
  }
}

/** No response (network, timeout), 409, 429 and 5xx are worth retrying; other 4xx are not. */
export function toStripeCallError(op: string, mode: Mode, timeoutMs: number, err: unknown): StripeCallError {
  const prefix = `Stripe ${op} (${mode} mode)`;
  if (!(err instanceof Stripe.errors.StripeError)) {
    // Thrown before any request went out (bad arguments): a bug that retrying will not fix.
    const name = err instanceof Error ? err.name : typeof err;
    return new StripeCallError(`${prefix}: unexpected ${name}`, {
      retryable: false,
      status: null,
      code: null,
    });
  }
  const status = err.statusCode ?? null;
  const code = err.code ?? null;
  const type = err.rawType ?? null;
  const requestId = err.requestId ?? null;
  if (status === null) {
    const detailCode = errorCode(err.detail);
    const what =
      detailCode === 'ETIMEDOUT'
        ? `timed out after ${timeoutMs}ms`
        : `network error (${detailCode ?? 'no response'})`;
    return new StripeCallError(`${prefix}: ${what}`, { retryable: true, status, code, type, requestId });
  }
  const retryable = status === 409 || status === 429 || status >= 500;
  const replayed = err.headers?.['idempotent-replayed'] === 'true';
  const parts = [`HTTP ${status}`, type, code, requestId && `(${requestId})`, replayed && 'replayed'].filter(
    Boolean,
  );
  return new StripeCallError(`${prefix}: ${parts.join(' ')}`, {
    retryable,
    status,
    code,
    type,
    requestId,
    replayed,
  });
}

function errorCode(detail: unknown): string | null {
  if (typeof detail === 'object' && detail !== null && 'code' in detail && typeof detail.code === 'string') {
    return detail.code;
  }
  return null;
}
