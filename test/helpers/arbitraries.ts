import fc from 'fast-check';
import { EMAIL_PATTERN, READ_ONLY_FIELDS } from '../../src/customers/customers.schema.js';

/**
 * fast-check arbitraries drawn from JSON Schemas (as the OpenAPI document states them), mostly
 * inside the schema and sometimes beyond it: wrong types, lengths one past the limit (in code
 * points and in UTF-16 units), NUL and lone surrogates, SQL and template injection, names that
 * mean something to JavaScript (`__proto__`), read-only fields and unknown ones.
 */

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  propertyNames?: JsonSchema;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minimum?: number;
  maximum?: number;
}

/** Strings that break naive SQL, shells, templates or JavaScript objects: stored or matched literally. */
export const SQL_INJECTION = [
  "' OR '1'='1",
  "'; DROP TABLE customers; --",
  "x'); DELETE FROM api_keys; --",
  '" OR ""="',
  "1' UNION SELECT secret_hash, null FROM api_keys --",
  "%' OR email LIKE '%",
  '1; SELECT pg_sleep(10) --',
  "' || (SELECT sqlite_version()) || '",
  '\\x27; --',
  '$1',
  '?',
  '%',
  '_',
  '\\',
];

export const HOSTILE_STRINGS = [
  ...SQL_INJECTION,
  '',
  ' ',
  '\t',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfffy',
  '😀',
  'é',
  'İstanbul',
  'ǅ',
  '\u202eevil',
  '<script>alert(1)</script>',
  '{{7*7}}',
  '#{7*7}',
  '../../etc/passwd',
  '\r\nX-Injected: 1',
  'null',
  'true',
  '-1',
  '1e309',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
];

/** `arbitrary`'s value once in `oneIn` draws, `otherwise` the rest of the time. */
export function sometimes<T, U>(
  arbitrary: fc.Arbitrary<T>,
  oneIn: number,
  otherwise: U,
): fc.Arbitrary<T | U> {
  return fc.oneof({ weight: oneIn - 1, arbitrary: fc.constant(otherwise) }, { weight: 1, arbitrary });
}

/** Any JSON value, for a field that should never have been that. */
export const anyJson: fc.Arbitrary<unknown> = fc.jsonValue({ maxDepth: 3 });

/** Printable ASCII, the characters a header value may carry on the wire. */
export const printable = (maxLength: number, minLength = 0) =>
  fc.string({
    unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
    minLength,
    maxLength,
  });

const typesOf = (schema: JsonSchema): string[] =>
  schema.type === undefined ? ['string'] : Array.isArray(schema.type) ? schema.type : [schema.type];

function lengthEdges(min: number, max: number): fc.Arbitrary<string> {
  return fc.constantFrom(
    'x'.repeat(max),
    'x'.repeat(max + 1),
    // Code points, not UTF-16 units: max emoji fit, max + 1 do not.
    '😀'.repeat(max),
    '😀'.repeat(max + 1),
    'é'.repeat(max),
    ...(min > 0 ? ['x'.repeat(min - 1)] : []),
  );
}

/** Code points, as JSON Schema's maxLength counts them. */
const length = (s: string) => [...s].length;

/** A string the schema accepts: its length in code points and its pattern. */
function conforms(schema: JsonSchema): (s: string) => boolean {
  const pattern = schema.pattern === undefined ? undefined : new RegExp(schema.pattern, 'u');
  return (s) =>
    length(s) >= (schema.minLength ?? 0) &&
    length(s) <= (schema.maxLength ?? Number.POSITIVE_INFINITY) &&
    (pattern === undefined || pattern.test(s));
}

function emailFor(max: number, strict: boolean): fc.Arbitrary<string> {
  const local = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }).filter((s) => !/[@\s]/u.test(s));
  const valid = fc.oneof(
    { weight: 6, arbitrary: fc.emailAddress({ size: 'small' }) },
    { weight: 2, arbitrary: fc.emailAddress({ size: 'small' }).map((e) => e.toUpperCase()) },
    { weight: 2, arbitrary: fc.tuple(local, local).map(([a, b]) => `${a}@${b}`) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(...SQL_INJECTION).map((s) => `${s.replace(/\s|@/g, '')}x@x.test`),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        'a@b',
        "o'reilly@example.com",
        `${'x'.repeat(max - 4)}@b.c`,
        `${'😀'.repeat(max - 4)}@b.c`,
      ),
    },
  );
  if (strict) return valid.filter(conforms({ minLength: 3, maxLength: max, pattern: EMAIL_PATTERN }));
  return fc.oneof(
    { weight: 5, arbitrary: valid },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        '@b',
        'a@',
        'a@@b',
        'a b@c',
        'ab',
        '',
        'a\u0000@b',
        'a\ud800@b',
        `${'x'.repeat(max - 3)}@b.c`,
        `${'😀'.repeat(max - 3)}@b.c`,
      ),
    },
  );
}

function stringFor(schema: JsonSchema, strict: boolean): fc.Arbitrary<string> {
  const max = schema.maxLength ?? 100;
  const min = schema.minLength ?? 0;
  if (schema.pattern?.includes('@')) return emailFor(max, strict);
  const any = fc.oneof(
    { weight: 6, arbitrary: fc.string({ minLength: min, maxLength: Math.min(max, 24) }) },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', minLength: min, maxLength: Math.min(max, 12) }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
    { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
    { weight: 1, arbitrary: lengthEdges(min, max) },
  );
  return strict ? any.filter(conforms(schema)) : any;
}

function integerFor(schema: JsonSchema, strict: boolean): fc.Arbitrary<number> {
  const min = schema.minimum ?? -2_000_000_000;
  const max = schema.maximum ?? 4_000_000_000;
  if (strict) return fc.integer({ min, max });
  return fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min, max }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(min - 1, max + 1, 0, -1, 2 ** 31, 2 ** 53, -(2 ** 53), 1e21, 0.5, -0),
    },
  );
}

/** Own keys only, `__proto__` included: never a prototype change while merging. */
function merge(parts: Record<string, unknown>[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const part of parts) {
    for (const [key, value] of Object.entries(part)) {
      Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
    }
  }
  return out;
}

/** Keys a schema does not have: read-only fields, JavaScript's own names, near misses, noise. */
const strayKey = fc.oneof(
  fc.constantFrom(...READ_ONLY_FIELDS, '__proto__', 'constructor', 'Email', 'email ', 'metadata[x]', ''),
  fc.string({ maxLength: 10 }),
);

/**
 * An object of the schema's shape. `strict`: only what the schema allows, so that requests
 * succeed and reach the code behind validation; otherwise anything may be wrong in it.
 */
export function objectFor(
  schema: JsonSchema,
  hints: Hints = {},
  strict = false,
): fc.Arbitrary<Record<string, unknown>> {
  const props = Object.entries(schema.properties ?? {});
  const known = fc.record(Object.fromEntries(props.map(([k, s]) => [k, hints[k] ?? valueFor(s, strict)])), {
    requiredKeys: schema.required ?? [],
  }) as fc.Arbitrary<Record<string, unknown>>;
  const parts: fc.Arbitrary<Record<string, unknown>>[] = [known];
  if (typeof schema.additionalProperties === 'object') {
    const key = schema.propertyNames ? stringFor(schema.propertyNames, strict) : fc.string({ maxLength: 10 });
    parts.push(
      fc.dictionary(key, valueFor(schema.additionalProperties, strict), { maxKeys: strict ? 6 : 24 }),
    );
  }
  if (!strict) {
    parts.push(
      sometimes(fc.dictionary(strayKey, anyJson, { minKeys: 1, maxKeys: 2 }), 10, {}) as fc.Arbitrary<
        Record<string, unknown>
      >,
    );
  }
  return fc.tuple(...parts).map(merge);
}

/** Values for named fields that a schema cannot express usefully (ids that exist, emails that were used). */
export type Hints = Record<string, fc.Arbitrary<unknown>>;

export function valueFor(schema: JsonSchema, strict = false): fc.Arbitrary<unknown> {
  const conforming = fc.oneof(
    ...typesOf(schema).map((type): fc.Arbitrary<unknown> => {
      switch (type) {
        case 'string':
          return stringFor(schema, strict);
        case 'integer':
        case 'number':
          return integerFor(schema, strict);
        case 'boolean':
          return fc.boolean();
        case 'null':
          return fc.constant(null);
        case 'object':
          return objectFor(schema, {}, strict);
        default:
          return anyJson;
      }
    }),
  );
  return strict
    ? conforming
    : fc.oneof({ weight: 12, arbitrary: conforming }, { weight: 1, arbitrary: anyJson });
}
