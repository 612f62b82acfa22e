import { Ajv, type ErrorObject } from 'ajv';
import type { FastifySchemaCompiler, FastifyServerOptions } from 'fastify';
import { AppError } from '../errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * Top-level fields of the route's parameters that are the resource's own (read-only), each
     * with the message a request naming one gets, as a `parameter_unknown` that says why.
     */
    readOnlyFields?: Readonly<Record<string, string>>;
  }
}

/**
 * Request validation. Bodies are checked strictly — no type coercion, no silently dropped
 * fields — so `"email": 5` is an error rather than the string "5". Query strings arrive as
 * text, so there numbers are coerced from their digits and defaults are filled in.
 */
const common = {
  allErrors: false,
  removeAdditional: false,
  strict: false,
  unicodeRegExp: true,
  coerceTypes: false,
  // Errors carry the schema they broke, so messages can quote its limits.
  verbose: true,
} as const;
const strictAjv = new Ajv({ ...common, useDefaults: false });
const queryAjv = new Ajv({ ...common, useDefaults: true });

type JsonSchema = { type?: string | string[]; properties?: Record<string, JsonSchema> };
type KeySchema = { minLength?: number; maxLength?: number };
const DECIMAL = /^-?[0-9]{1,15}$/;

/**
 * Query strings carry only text. Where the schema wants an integer, decimal digits become a
 * number; anything else (`0x10`, `1e3`, ` 7`, `+5`) stays text and fails validation, which
 * ajv's own coercion would have let through.
 */
function coerceIntegers(schema: JsonSchema, data: unknown): void {
  if (!schema.properties || typeof data !== 'object' || data === null) return;
  const record = data as Record<string, unknown>;
  for (const [name, sub] of Object.entries(schema.properties)) {
    const value = record[name];
    const types = Array.isArray(sub.type) ? sub.type : [sub.type];
    if (typeof value === 'string' && types.includes('integer') && DECIMAL.test(value))
      record[name] = Number(value);
    else coerceIntegers(sub, value);
  }
}

const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  if (httpPart !== 'querystring') return strictAjv.compile(schema as object);
  const validate = queryAjv.compile(schema as object);
  return (data: unknown) => {
    coerceIntegers(schema as JsonSchema, data);
    return validate(data) ? { value: data } : { error: validate.errors as never };
  };
};

type ValidatorFactory = NonNullable<
  NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']
>['buildValidator'];

/**
 * `validatorCompiler` for every Fastify context, as the server's `schemaController` option:
 * `setValidatorCompiler` does not reach a plugin that registers schemas of its own (Fastify builds
 * its default compiler there). The cast: a query's validator returns `{ value } | { error }`,
 * which Fastify accepts but the factory's type (ajv's validate function) does not express.
 */
export const buildValidator = (() => validatorCompiler) as unknown as ValidatorFactory;

/** `/metadata/a~1b` → `metadata[a/b]`, the bracket notation that forms and query strings use. */
export function paramName(instancePath: string, child?: string): string {
  const parts = instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (child !== undefined) parts.push(child);
  const [head = '', ...rest] = parts;
  return head + rest.map((p) => `[${p}]`).join('');
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  object: 'an object',
  boolean: 'a boolean',
  null: 'null',
  array: 'an array',
};

function typeList(type: unknown): string {
  const list = Array.isArray(type) ? type : [type];
  return list.map((t) => TYPE_NAMES[String(t)] ?? String(t)).join(' or ');
}

function describe(error: ErrorObject, param: string): string {
  const p = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'type':
      return `Invalid ${param}: must be ${typeList(p.type)}.`;
    case 'minLength':
      return `Invalid ${param}: must be at least ${p.limit} characters.`;
    case 'maxLength':
      return param === 'metadata'
        ? 'Invalid metadata: must be an object of string values, null, or an empty string.'
        : `Invalid ${param}: must be at most ${p.limit} characters.`;
    case 'pattern':
      return param === 'email'
        ? 'Invalid email: must contain one @ with text on both sides and no whitespace.'
        : `Invalid ${param}: must not contain NUL characters or unpaired surrogates.`;
    case 'minimum':
      return `Invalid ${param}: must be at least ${p.limit}.`;
    case 'maximum':
      return `Invalid ${param}: must be at most ${p.limit}.`;
    case 'enum':
      return `Invalid ${param}: must be one of ${(p.allowedValues as unknown[]).join(', ')}.`;
    case 'minItems':
      return `Invalid ${param}: must list at least ${p.limit}.`;
    case 'maxItems':
      return `Invalid ${param}: must list at most ${p.limit}.`;
    default:
      return `Invalid ${param}.`;
  }
}

/**
 * The first problem ajv found, as the API's error with the parameter at fault. `readOnlyFields`
 * is the route's own (its `config`).
 */
export function validationError(
  errors: ErrorObject[],
  readOnlyFields: Readonly<Record<string, string>> = {},
): AppError {
  const error = errors[0];
  if (!error) return new AppError('parameter_invalid', 'The request parameters are invalid.');
  const p = error.params as Record<string, unknown>;
  if (error.keyword === 'required') {
    const param = paramName(error.instancePath, String(p.missingProperty));
    return new AppError('parameter_missing', `Missing required param: ${param}.`, param);
  }
  if (error.keyword === 'additionalProperties') {
    const name = String(p.additionalProperty);
    const param = paramName(error.instancePath, name);
    if (error.instancePath === '' && Object.hasOwn(readOnlyFields, name)) {
      return new AppError('parameter_unknown', readOnlyFields[name] as string, param);
    }
    return new AppError('parameter_unknown', `Received unknown parameter: ${param}.`, param);
  }
  // Inside `propertyNames` ajv names the offending key here.
  const key = (error as ErrorObject & { propertyName?: string }).propertyName;
  if (key !== undefined || error.keyword === 'propertyNames') {
    const name = key ?? String(p.propertyName);
    // The key's own limits, from the schema that set them (`verbose` gives it to each error).
    const parent = error.parentSchema as { propertyNames?: KeySchema } & KeySchema;
    const keys = key === undefined ? (parent.propertyNames ?? {}) : parent;
    // No brackets: a form or query string names a key inside brackets, `metadata[key]`.
    return new AppError(
      'parameter_invalid',
      `Invalid key '${name}': keys must be ${keys.minLength ?? 0} to ${keys.maxLength} characters with no [ or ].`,
      paramName(error.instancePath, name),
    );
  }
  const param = paramName(error.instancePath);
  return new AppError('parameter_invalid', describe(error, param), param || undefined);
}

/**
 * A body validator outside a request (the command line's import): the same checks and the same
 * errors as the route's, from the same schema. A compiler of its own, so a schema's `$id` can be
 * compiled here and by the app in one process.
 */
export function bodyValidator(schema: object): (data: unknown) => AppError | undefined {
  const validate = new Ajv({ ...common, useDefaults: false }).compile(schema);
  return (data) => (validate(data) ? undefined : validationError(validate.errors ?? []));
}
