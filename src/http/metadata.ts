import { Type } from '@sinclair/typebox';
import { AppError } from '../errors.js';
import { NO_NUL } from './schemas.js';

/**
 * The `metadata` parameter every resource shares (customers, webhook endpoints): the same
 * schema, so the same validation errors and document, and the same merge rules.
 */
export const METADATA_MAX_KEYS = 20;
export const METADATA_KEY_MAX = 40;
export const METADATA_VALUE_MAX = 500;

export type Metadata = Record<string, string>;
export type MetadataInput = Record<string, string | null> | null | '' | undefined;

export const MetadataParam = Type.Unsafe<Record<string, string | null> | null | ''>({
  type: ['object', 'null', 'string'],
  maxLength: 0,
  propertyNames: { minLength: 1, maxLength: METADATA_KEY_MAX, pattern: '^[^\\[\\]\\u0000\\p{Cs}]*$' },
  additionalProperties: { type: ['string', 'null'], maxLength: METADATA_VALUE_MAX, pattern: NO_NUL },
  description:
    `Up to ${METADATA_MAX_KEYS} keys (1–${METADATA_KEY_MAX} characters, no \`[\` or \`]\`) with string values of up to ${METADATA_VALUE_MAX} characters. ` +
    'On update, keys are merged: a value of `""` or `null` removes that key; `metadata: null` or `""` removes them all.',
  examples: [{ internal_id: 'ACCT-42' }],
});

/** Metadata as the API shows it: an object of strings, or null when it holds no keys. */
export const MetadataObject = (description: string) =>
  Type.Union([Type.Record(Type.String(), Type.String()), Type.Null()], { description });

/** The stored JSON text back as an object. */
export const parseMetadata = (stored: string | null): Metadata | null =>
  stored === null ? null : (JSON.parse(stored) as Metadata);

/**
 * Applies a metadata parameter to what is stored: set, remove with ""/null, clear all with
 * null/"". Returns the JSON text to store, null when no keys are left. The key limit applies to
 * the result.
 */
export function mergeMetadata(current: Metadata | null, param: MetadataInput): string | null {
  if (param === undefined) return current === null ? null : JSON.stringify(current);
  // No prototype: a metadata key such as `__proto__` is stored like any other key.
  const merged: Metadata = Object.assign(Object.create(null), param === null || param === '' ? {} : current);
  if (param !== null && param !== '') {
    for (const [key, value] of Object.entries(param)) {
      if (value === null || value === '') delete merged[key];
      else merged[key] = value;
    }
  }
  const keys = Object.keys(merged);
  if (keys.length > METADATA_MAX_KEYS) {
    throw new AppError(
      'parameter_invalid',
      `Metadata can have at most ${METADATA_MAX_KEYS} keys; this request would leave ${keys.length}.`,
      'metadata',
    );
  }
  return keys.length === 0 ? null : JSON.stringify(merged);
}
