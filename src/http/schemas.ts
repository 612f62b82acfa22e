import { type TSchema, Type } from '@sinclair/typebox';
import { codesByStatus, type ErrorCode, ErrorEnvelope } from '../errors.js';

/**
 * No string the API stores may hold a NUL character (several drivers and tools truncate at it) or
 * a lone UTF-16 surrogate (it cannot be stored as UTF-8 without silently becoming U+FFFD).
 */
export const NO_NUL = '^[^\\u0000\\p{Cs}]*$';

/** A string or null, as one JSON Schema type list: clearer errors than an anyOf of two schemas. */
export function NullableString(options: {
  minLength?: number;
  maxLength: number;
  description: string;
  example?: string;
}) {
  return Type.Unsafe<string | null>({
    type: ['string', 'null'],
    pattern: NO_NUL,
    ...options,
    ...(options.example === undefined ? {} : { examples: [options.example] }),
  });
}

/** Every route can answer with these, whatever it does. */
const COMMON_ERRORS: ErrorCode[] = [
  'api_key_missing',
  'api_key_invalid',
  'rate_limited',
  'internal_error',
  'service_unavailable',
];

/**
 * What a write that takes an `Idempotency-Key` can answer besides: a malformed key, a key reused
 * for another request, a key still in flight, and, on a replay, the 404 of a customer deleted since.
 */
const IDEMPOTENCY_ERRORS: ErrorCode[] = [
  'parameter_invalid',
  'idempotency_key_reused',
  'resource_missing',
  'idempotency_key_in_use',
];

/** What any route that reads a body can answer about the body itself. */
export const BODY_ERRORS = ['invalid_json', 'body_too_large', 'unsupported_media_type'] as const;

/** `errorResponses`' option for a write that takes an Idempotency-Key. */
export const IDEMPOTENT = { idempotent: true };

/** The error responses of a route, generated from the one error table. */
export function errorResponses(
  codes: ErrorCode[],
  { authenticated = true, idempotent = false } = {},
): Record<number, TSchema> {
  const listed = idempotent ? [...codes, ...IDEMPOTENCY_ERRORS] : codes;
  const own = [...new Set(listed)];
  const all = authenticated ? [...own, ...COMMON_ERRORS] : [...own, 'internal_error' as const];
  const out: Record<number, TSchema> = {};
  for (const [status, list] of codesByStatus(all)) {
    out[status] = Type.Ref(ErrorEnvelope, {
      description: `Error codes: ${list.map((c) => `\`${c}\``).join(', ')}.`,
    });
  }
  return out;
}

/** The path parameters of a route on one object: its `id`. */
export function IdParams(description: string, example: string) {
  return Type.Object(
    { id: Type.String({ description, examples: [example] }) },
    { additionalProperties: false },
  );
}
