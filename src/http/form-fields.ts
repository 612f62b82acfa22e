import type { FastifyRequest } from 'fastify';

/**
 * A form carries only text and nested names, so a field the body schema declares as a boolean,
 * an integer or a list arrives in the shapes Stripe-style clients send them, and becomes that
 * type here, before validation: `true`/`false`; decimal digits; `name[0]=a&name[1]=b`,
 * `name[]=a&name[]=b`, or `name=a` given once or more. Anything else is left as it came, and
 * validation refuses it. JSON bodies are never touched: there a value has the type it was sent as.
 */

type JsonSchema = { type?: string | string[]; properties?: Record<string, JsonSchema> };

const DECIMAL = /^-?[0-9]{1,15}$/;

function typesOf(schema: JsonSchema): string[] {
  return Array.isArray(schema.type) ? schema.type : schema.type === undefined ? [] : [schema.type];
}

function asList(value: unknown): unknown {
  if (typeof value === 'string' || Array.isArray(value)) return Array.isArray(value) ? value : [value];
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value);
  // `name[]=a&name[]=b`: one empty key holding the values.
  if (entries.length === 1 && entries[0]?.[0] === '') return asList(entries[0][1]);
  // `name[0]=a&name[1]=b`: the indices 0, 1, … each once, in any order.
  const indexed = entries.every(([key]) => /^(0|[1-9][0-9]{0,2})$/.test(key));
  if (!indexed || entries.length === 0) return value;
  const list: unknown[] = [];
  for (const [key, item] of entries) list[Number(key)] = item;
  return list.length === entries.length ? list : value;
}

function coerce(schema: JsonSchema, value: unknown): unknown {
  const types = typesOf(schema);
  if (types.includes('array')) return asList(value);
  if (typeof value !== 'string') return value;
  if (types.includes('boolean') && (value === 'true' || value === 'false')) return value === 'true';
  if (types.includes('integer') && DECIMAL.test(value)) return Number(value);
  return value;
}

/** Coerces the top-level fields of a form body in place, by the route's body schema. */
export function coerceFormFields(request: FastifyRequest): void {
  const type = String(request.headers['content-type'] ?? '');
  if (!/^application\/x-www-form-urlencoded/i.test(type)) return;
  const schema = request.routeOptions.schema?.body as JsonSchema | undefined;
  const body = request.body as Record<string, unknown> | undefined;
  if (!schema?.properties || typeof body !== 'object' || body === null) return;
  for (const [name, sub] of Object.entries(schema.properties)) {
    if (Object.hasOwn(body, name)) body[name] = coerce(sub, body[name]);
  }
}
