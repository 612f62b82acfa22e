import type { ErrorResponse, ErrorType } from './types.js';

/** Error codes the API documents. Other strings may appear if the API grows new ones. */
export type ErrorCode =
  | 'invalid_json'
  | 'parameter_missing'
  | 'parameter_unknown'
  | 'parameter_invalid'
  | 'parameters_exclusive'
  | 'limit_exceeded'
  | 'idempotency_key_reused'
  | 'api_key_missing'
  | 'api_key_invalid'
  | 'resource_missing'
  | 'url_invalid'
  | 'method_not_allowed'
  | 'idempotency_key_in_use'
  | 'body_too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'internal_error'
  | 'service_unavailable'
  // SDK-side codes, for errors that never reached (or never came back from) the API:
  | 'connection_failed'
  | 'timeout'
  | 'invalid_response'
  // keeps autocompletion of the names above while accepting any other string
  | (string & {});

/** Everything an error can be built from. */
export interface LuniPayErrorInit {
  message: string;
  type?: string | undefined;
  code?: ErrorCode | undefined;
  param?: string | undefined;
  status?: number | undefined;
  requestId?: string | undefined;
  headers?: Record<string, string> | undefined;
  raw?: unknown;
  cause?: unknown;
}

/**
 * Base class of every error the SDK throws (argument errors aside, which are `TypeError`s).
 *
 * @example
 * try {
 *   await lunipay.customers.retrieve('cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY');
 * } catch (err) {
 *   if (err instanceof InvalidRequestError && err.code === 'resource_missing') console.log('gone');
 *   else if (err instanceof LuniPayError) console.log(err.type, err.code, err.param, err.status, err.requestId);
 *   else throw err;
 * }
 */
export class LuniPayError extends Error {
  override name = 'LuniPayError';
  /** The API's error `type` (`invalid_request_error`, …), or `connection_error` for network problems. */
  readonly type: string;
  /** The API's error `code` (`parameter_invalid`, `resource_missing`, …). */
  readonly code: ErrorCode | undefined;
  /** The parameter at fault, when one is (`email`, `metadata[plan]`, `Idempotency-Key`, `id`). */
  readonly param: string | undefined;
  /** HTTP status, or `undefined` when no response arrived. */
  readonly status: number | undefined;
  /** The `Request-Id` response header (`req_…`): quote it when asking LuniPay for help. */
  readonly requestId: string | undefined;
  /** The response headers (lower-case names), when a response arrived. */
  readonly headers: Record<string, string>;
  /** The parsed response body, when there was one. */
  readonly raw: unknown;

  constructor(init: LuniPayErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.type = init.type ?? 'api_error';
    this.code = init.code;
    this.param = init.param;
    this.status = init.status;
    this.requestId = init.requestId;
    this.headers = init.headers ?? {};
    this.raw = init.raw;
  }
}

/**
 * `invalid_request_error`: the request was wrong — a bad parameter (400), no such customer
 * (404 `resource_missing`), or the same `Idempotency-Key` still in flight (409, after the retries).
 */
export class InvalidRequestError extends LuniPayError {
  override name = 'InvalidRequestError';
}

/** `authentication_error`: the API key is missing, malformed, unknown or revoked (401). */
export class AuthenticationError extends LuniPayError {
  override name = 'AuthenticationError';
}

/** `idempotency_error`: the `Idempotency-Key` was already used for a different request (400). */
export class IdempotencyError extends LuniPayError {
  override name = 'IdempotencyError';
}

/** `rate_limit_error`: too many requests (429). Only thrown once the retries are used up. */
export class RateLimitError extends LuniPayError {
  override name = 'RateLimitError';
  /** The `Retry-After` header in seconds, when the API sent one. */
  readonly retryAfter: number | undefined;

  constructor(init: LuniPayErrorInit) {
    super(init);
    this.retryAfter = parseRetryAfterSeconds(this.headers['retry-after']);
  }
}

/** `api_error`: a problem on LuniPay's side (5xx), or an answer the SDK could not understand. */
export class APIError extends LuniPayError {
  override name = 'APIError';
}

/** The request never got an answer: DNS, refused or reset connection, CORS, offline… */
export class ConnectionError extends LuniPayError {
  override name = 'ConnectionError';
}

/** No answer within `timeoutMs`. A subclass of {@link ConnectionError}. */
export class TimeoutError extends ConnectionError {
  override name = 'TimeoutError';
}

/** Parses `Retry-After` (delta-seconds or HTTP date) into seconds, or `undefined`. */
export function parseRetryAfterSeconds(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, (date - now) / 1000);
}

function isErrorResponse(body: unknown): body is ErrorResponse {
  if (typeof body !== 'object' || body === null) return false;
  const error = (body as { error?: unknown }).error;
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { message?: unknown }).message === 'string'
  );
}

/** Builds the right error class for an error response. */
export function errorFromResponse(
  status: number,
  body: unknown,
  headers: Record<string, string>,
  rawText: string,
): LuniPayError {
  const requestId = headers['request-id'];
  if (!isErrorResponse(body)) {
    const snippet = rawText.length > 200 ? `${rawText.slice(0, 200)}…` : rawText;
    return new APIError({
      message: `Unexpected ${status} response from the LuniPay API${snippet ? `: ${snippet}` : ' with an empty body'}`,
      type: 'api_error',
      code: 'invalid_response',
      status,
      requestId,
      headers,
      raw: body ?? rawText,
    });
  }
  const { type, code, message, param } = body.error;
  const init: LuniPayErrorInit = { message, type, code, param, status, requestId, headers, raw: body };
  switch (type as ErrorType) {
    case 'invalid_request_error':
      return new InvalidRequestError(init);
    case 'authentication_error':
      return new AuthenticationError(init);
    case 'idempotency_error':
      return new IdempotencyError(init);
    case 'rate_limit_error':
      return new RateLimitError(init);
    default:
      // 'api_error' and any type this SDK version does not know yet
      return status === 429
        ? new RateLimitError(init)
        : status === 401
          ? new AuthenticationError(init)
          : new APIError(init);
  }
}
