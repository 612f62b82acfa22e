import { type Static, Type } from '@sinclair/typebox';

/**
 * The closed list of errors the API can return. Every error response is rendered from this
 * table, and the OpenAPI document's error responses are generated from it too, so status codes
 * cannot drift between the documentation and the code.
 */
export const ERRORS = {
  invalid_json: { status: 400, type: 'invalid_request_error' },
  parameter_missing: { status: 400, type: 'invalid_request_error' },
  parameter_unknown: { status: 400, type: 'invalid_request_error' },
  parameter_invalid: { status: 400, type: 'invalid_request_error' },
  parameters_exclusive: { status: 400, type: 'invalid_request_error' },
  limit_exceeded: { status: 400, type: 'invalid_request_error' },
  idempotency_key_reused: { status: 400, type: 'idempotency_error' },
  api_key_missing: { status: 401, type: 'authentication_error' },
  api_key_invalid: { status: 401, type: 'authentication_error' },
  resource_missing: { status: 404, type: 'invalid_request_error' },
  url_invalid: { status: 404, type: 'invalid_request_error' },
  method_not_allowed: { status: 405, type: 'invalid_request_error' },
  idempotency_key_in_use: { status: 409, type: 'invalid_request_error' },
  body_too_large: { status: 413, type: 'invalid_request_error' },
  unsupported_media_type: { status: 415, type: 'invalid_request_error' },
  rate_limited: { status: 429, type: 'rate_limit_error' },
  internal_error: { status: 500, type: 'api_error' },
  service_unavailable: { status: 503, type: 'api_error' },
} as const;

export type ErrorCode = keyof typeof ERRORS;
export type ErrorType = (typeof ERRORS)[ErrorCode]['type'];

const CODES = Object.keys(ERRORS) as ErrorCode[];
const TYPES = [...new Set(CODES.map((code) => ERRORS[code].type))];

/** A string one of `values`, as a plain JSON Schema enum (an OpenAPI enum, a union in the SDK). */
const StringEnum = <T extends string>(values: readonly T[], description: string) =>
  Type.Unsafe<T>({ type: 'string', enum: [...values], description });

/** Every error response's body, rendered from the table above. */
export const ErrorEnvelope = Type.Object(
  {
    error: Type.Object(
      {
        type: StringEnum(TYPES, 'The kind of error, which groups the codes.'),
        code: StringEnum(CODES, 'A short, stable code for programs to act on.'),
        message: Type.String({ description: 'One sentence for a person.' }),
        param: Type.Optional(Type.String({ description: 'The parameter at fault, when there is one.' })),
      },
      { additionalProperties: false },
    ),
  },
  { $id: 'Error', additionalProperties: false, title: 'Error' },
);
export type ErrorBody = Static<typeof ErrorEnvelope>;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly param: string | undefined;
  /** Extra response headers, e.g. `Allow` on a 405 or `Retry-After` on a 429. */
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, message: string, param?: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.param = param;
    this.headers = headers;
  }

  get status(): number {
    return ERRORS[this.code].status;
  }

  toBody(): ErrorBody {
    const error: ErrorBody['error'] = {
      type: ERRORS[this.code].type,
      code: this.code,
      message: this.message,
    };
    if (this.param !== undefined) error.param = this.param;
    return { error };
  }
}

/**
 * The 503: the request may well succeed if sent again shortly (the database is unreachable, the
 * server is shutting down). The one place `service_unavailable` is made.
 */
export function unavailable(
  message = 'The database is unavailable right now. Please retry shortly.',
  headers: Record<string, string> = {},
): AppError {
  return new AppError('service_unavailable', message, undefined, headers);
}

/** The codes each status can carry, for the OpenAPI document's error responses. */
export function codesByStatus(codes: readonly ErrorCode[]): Map<number, ErrorCode[]> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = ERRORS[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return byStatus;
}
