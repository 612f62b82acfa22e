import fc from 'fast-check';
import {
  anyJson,
  type Hints,
  HOSTILE_STRINGS,
  type JsonSchema,
  objectFor,
  printable,
  SQL_INJECTION,
  sometimes,
} from './arbitraries.js';

/**
 * The requests test/fuzz.test.ts sends: one arbitrary per operation of the OpenAPI document
 * (bodies, query strings, headers and ids drawn from its schemas, and beyond them), and one for
 * requests beyond the document (any method, odd paths, raw bodies, content types).
 */

export interface Operation {
  method: string;
  path: string;
  query: { name: string; schema: JsonSchema }[];
  body?: JsonSchema;
}

export type Doc = {
  paths: Record<
    string,
    Record<
      string,
      {
        parameters?: { in: string; name: string; schema: JsonSchema }[];
        requestBody?: { content: Record<string, { schema: JsonSchema }> };
      }
    >
  >;
};

export function operationsOf(doc: Doc): Operation[] {
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      query: (op.parameters ?? [])
        .filter((p) => p.in === 'query')
        .map((p) => ({ name: p.name, schema: p.schema })),
      body: op.requestBody?.content['application/json']?.schema,
    })),
  );
}

/** A customer id, resolved when the request is sent: which customers exist changes as the run goes. */
export type IdRef = { pool: 'mine' | 'live' | 'other' | 'gone' | 'never'; index: number } | { raw: string };

export const malformedId = fc.oneof(
  fc.constantFrom(
    'cus_',
    'cus_123',
    'cus_01JRZK2Q4T9ZS0VCNA3HX7W9E',
    'cus_01JRZK2Q4T9ZS0VCNA3HX7W9EYX',
    'cus_01jrzk2q4t9zs0vcna3hx7w9ey',
    'CUS_01JRZK2Q4T9ZS0VCNA3HX7W9EY',
    'cus_01JRZK2Q4T9ZS0VCNA3HX7W9EU',
    'cus_81JRZK2Q4T9ZS0VCNA3HX7W9EY',
    'acct_01JRZK2Q4T9ZS0VCNA3HX7W9EY',
    'x'.repeat(199),
    'x'.repeat(201),
    ...SQL_INJECTION,
  ),
  fc.string({ minLength: 1, maxLength: 30 }),
  fc.constantFrom(...HOSTILE_STRINGS).filter((s) => s !== ''),
);

export const idRef: fc.Arbitrary<IdRef> = fc.oneof(
  { weight: 16, arbitrary: fc.nat(40).map((index) => ({ pool: 'mine' as const, index })) },
  ...(['live', 'other', 'gone', 'never'] as const).map((pool) => ({
    weight: 1,
    arbitrary: fc.nat(40).map((index) => ({ pool, index })),
  })),
  { weight: 3, arbitrary: malformedId.map((raw) => ({ raw })) },
);

export type Auth = 'test' | 'live' | 'other' | 'basic' | 'none' | 'revoked' | { raw: string };
export const auth: fc.Arbitrary<Auth> = fc.oneof(
  { weight: 16, arbitrary: fc.constant('test' as const) },
  { weight: 2, arbitrary: fc.constantFrom('live' as const, 'other' as const, 'basic' as const) },
  { weight: 1, arbitrary: fc.constantFrom('none' as const, 'revoked' as const) },
  {
    weight: 1,
    arbitrary: fc
      .oneof(
        printable(60),
        fc.constantFrom('Bearer', 'Bearer ', 'Basic Og==', 'Basic !!!', `Bearer sk_test_${'A'.repeat(129)}`),
      )
      .map((raw) => ({ raw })),
  },
);

/** A few keys used over and over, so replays, mismatches and reuse across routes all happen. */
export const idempotencyKey = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('fuzz-1', 'fuzz-2', 'fuzz-3') },
  { weight: 2, arbitrary: printable(20, 1) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', 'é', 'a\tb', 'x'.repeat(255), 'x'.repeat(256)) },
);

export const contentTypes = fc.constantFrom(
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/json;charset=latin1',
  'text/plain',
  'application/xml',
  'multipart/form-data; boundary=x',
  'application/json-patch+json',
  'application/x-www-form-urlencoded; charset=utf-8',
  '',
  'garbage',
);

export const rawBody: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom(
    '{',
    '{"email":',
    '[]',
    '1',
    'null',
    '"x"',
    '{"email":"a@b","email":"c@d"}',
    '\ufeff{"email":"bom@example.com"}',
    '{"__proto__":{"admin":true},"email":"p@example.com"}',
    '{"constructor":{"prototype":{"x":1}},"email":"c@example.com"}',
    `${'{"a":'.repeat(20)}1${'}'.repeat(20)}`,
    `{"metadata":${'{"a":'.repeat(18)}"x"${'}'.repeat(18)}}`,
    '%zz=1',
    'email=a%40b&email=c%40d',
    'metadata[a][b][c][d]=1',
    'metadata[]=x',
    '&&&=',
    Array.from({ length: 300 }, (_, i) => `k${i}=v`).join('&'),
  ),
  fc
    .integer({ min: 65_000, max: 70_000 })
    .map((n) => `{"email":"big@example.com","notes":"${'a'.repeat(n)}"}`),
);

export type Body =
  | { kind: 'json' | 'form'; value: Record<string, unknown>; type?: string }
  | { kind: 'raw'; text: string; type?: string };

export function bodyFor(schema: JsonSchema): fc.Arbitrary<Body> {
  // Half inside the schema, so requests get past validation to the code behind it.
  const value = fc.oneof(objectFor(schema, {}, true), objectFor(schema));
  const type = sometimes(contentTypes, 12, undefined);
  return fc.oneof(
    { weight: 8, arbitrary: fc.record({ kind: fc.constant('json' as const), value, type }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('form' as const), value, type }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('raw' as const),
        text: rawBody,
        type: fc.option(contentTypes, { nil: undefined }),
      }),
    },
  );
}

/** Query parameters: drawn from the operation's parameters, with hints, and some that do not exist. */
export function queryFor(
  op: Operation,
  hints: Hints,
): fc.Arbitrary<{ params: Record<string, unknown>; extra?: string }> {
  const schema: JsonSchema = {
    type: 'object',
    properties: Object.fromEntries(op.query.map((q) => [q.name, q.schema])),
  };
  const extra = fc.oneof(
    fc.constantFrom(
      '%zz',
      'limit=1&limit=2',
      'created[gt][x]=1',
      'created[gt]=1&created=2',
      'a[b][c][d][e]=1',
      'starting_after[]=x',
      'email[]=a',
      '__proto__[x]=1',
      Array.from({ length: 300 }, (_, i) => `p${i}=1`).join('&'),
    ),
    fc
      .tuple(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }))
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`),
  );
  return fc.record(
    {
      params: fc.oneof(objectFor(schema, hints, true), objectFor(schema, hints)),
      extra: sometimes(extra, 8, undefined),
    },
    { requiredKeys: ['params'] },
  );
}

export interface FuzzRequest {
  method: string;
  /** A path template with `{id}`, or a literal path. */
  path: string;
  id: IdRef;
  /** Send the id without percent-encoding it. */
  rawId: boolean;
  query?: { params: Record<string, unknown>; extra?: string };
  body?: Body;
  auth: Auth;
  idempotencyKey?: string;
  headers: Record<string, string>;
}

export const extraHeaders = sometimes(
  fc.dictionary(
    fc.oneof(
      fc.constantFrom(
        'x-forwarded-for',
        'x-request-id',
        'request-id',
        'stripe-account',
        'accept',
        'origin',
        'cookie',
      ),
      fc.stringMatching(/^x-[a-z0-9-]{1,12}$/),
    ),
    printable(40),
    { maxKeys: 3 },
  ),
  4,
  {},
) as fc.Arbitrary<Record<string, string>>;

/** One request of one of the document's operations; writes and the list get most of them. */
export function documentedRequest(
  operations: Operation[],
  listHints: () => Hints,
): fc.Arbitrary<FuzzRequest> {
  const perOperation = operations.map((op) =>
    fc.record(
      {
        method: fc.constant(op.method),
        path: fc.constant(op.path),
        id: idRef,
        rawId: fc.boolean(),
        query: op.query.length > 0 ? queryFor(op, listHints()) : fc.constant(undefined),
        body: op.body ? bodyFor(op.body) : sometimes(bodyFor({ type: 'object' }), 10, undefined),
        auth,
        idempotencyKey: sometimes(idempotencyKey, op.method === 'GET' ? 10 : 3, undefined),
        headers: extraHeaders,
      },
      { requiredKeys: ['method', 'path', 'id', 'rawId', 'auth', 'headers'] },
    ),
  ) as fc.Arbitrary<FuzzRequest>[];
  // Writes and the list are where the rules are: they get most of the cases. Deletes fewer,
  // or they would use up the customers the updates need.
  const weighted = perOperation.map((arbitrary, i) => {
    const op = operations[i] as Operation;
    const weight = !op.path.startsWith('/v1/customers') ? 1 : op.method === 'DELETE' ? 2 : 4;
    return { arbitrary, weight };
  });
  return fc.oneof(...weighted);
}

/** A request beyond the document: any method, path, query, body and headers. */
export function wildRequest(): fc.Arbitrary<FuzzRequest> {
  const path = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom('/v1/customers', '/v1/customers/{id}') },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        '/',
        '/v1',
        '/v1/',
        '/v1/customers/',
        '/v1/customers//{id}',
        '/v1/customers/{id}/',
        '/v1/customers/{id}/extra',
        '/V1/CUSTOMERS',
        '/v1/customers;x',
        '/v1/customers/%00',
        '/v1/customers/%E0%A4%A',
        '/v1/customers/..%2F..%2Fetc%2Fpasswd',
        '/v1/customers/%2e%2e',
        '/healthz/',
        '/v1/openapi.json/x',
        '/v2/customers',
        `/v1/customers/${'a'.repeat(300)}`,
      ),
    },
    { weight: 1, arbitrary: fc.webPath() },
    { weight: 1, arbitrary: fc.string({ maxLength: 20 }).map((s) => `/v1/${s}`) },
  );
  return fc.record(
    {
      method: fc.constantFrom(
        'GET',
        'POST',
        'PUT',
        'PATCH',
        'DELETE',
        'OPTIONS',
        'HEAD',
        'TRACE',
        'QUERY',
        'SEARCH',
      ),
      path,
      id: idRef,
      rawId: fc.boolean(),
      query: fc.option(
        fc.record(
          {
            params: fc.dictionary(fc.string({ maxLength: 12 }), anyJson, { maxKeys: 4 }),
            extra: fc.option(fc.string({ maxLength: 30 }), { nil: undefined }),
          },
          { requiredKeys: ['params'] },
        ),
        { freq: 3, nil: undefined },
      ),
      body: fc.option(
        fc.oneof(
          fc.record({
            kind: fc.constant('raw' as const),
            text: rawBody,
            type: fc.option(contentTypes, { nil: undefined }),
          }),
          fc.record({
            kind: fc.constantFrom('json' as const, 'form' as const),
            value: fc.dictionary(fc.string({ maxLength: 12 }), anyJson, { maxKeys: 5 }),
            type: sometimes(contentTypes, 4, undefined),
          }),
        ),
        { freq: 2, nil: undefined },
      ),
      auth,
      idempotencyKey: fc.option(idempotencyKey, { freq: 3, nil: undefined }),
      headers: extraHeaders,
    },
    { requiredKeys: ['method', 'path', 'id', 'rawId', 'auth', 'headers'] },
  ) as fc.Arbitrary<FuzzRequest>;
}
