import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { forEachDatabase, useHarness } from '../../test/helpers/harness.js';

// Search against a straightforward filter over the same customers in memory, written from the
// contract alone: random customers, random queries, the same answers in the same order.

type Person = {
  id: string;
  email: string;
  first_name: string;
  last_name: string;
  phone: string | null;
  company_name: string | null;
  metadata: Record<string, string> | null;
  created: number;
};
type Field = 'email' | 'first_name' | 'last_name' | 'name' | 'phone' | 'company_name' | { key: string };
type Clause =
  | {
      negated: boolean;
      field: Field;
      op: ':' | '~';
      value: string | null;
      slice?: { pick: number; start: number; length: number };
    }
  | { negated: boolean; field: 'created'; op: ':' | '>' | '>=' | '<' | '<='; value: number };

const CHARS = ['a', 'b', 'A', 'B', 'é', 'É', '_', '%', '"', "'", '\\', '1', '.'];
const text = (min: number, max: number, chars = CHARS) =>
  fc.array(fc.constantFrom(...chars), { minLength: min, maxLength: max }).map((a) => a.join(''));
const KEYS = ['plan', 'Plan', 'a"b'];
const PHONE_CHARS = ['1', '2', '3', ' ', '-', '+'];
// Mostly digits, so that a part of such an email often holds six of them.
const EMAIL_DIGIT_CHARS = ['1', '2', '3', '1', '2', '3', '.', 'a'];

const personInput = fc.record({
  // Short local parts for the trigram index, longer ones of digits for the email's windows.
  email: fc
    .tuple(fc.oneof(text(1, 5), text(8, 16, EMAIL_DIGIT_CHARS)), text(1, 5))
    .map(([l, d]) => `${l}@${d}`),
  first_name: fc.oneof(fc.constant(''), text(1, 4)),
  last_name: fc.oneof(fc.constant(''), text(1, 4)),
  // Short phones for the trigram index, longer ones with six digits or more for the windows'.
  phone: fc.option(fc.oneof(text(1, 5, ['1', '2', '+', ' ', 'a']), text(6, 14, PHONE_CHARS)), { nil: null }),
  company_name: fc.option(text(1, 5), { nil: null }),
  metadata: fc.option(fc.dictionary(fc.constantFrom(...KEYS), text(1, 4), { maxKeys: 2, minKeys: 1 }), {
    nil: null,
  }),
});

const fieldArb: fc.Arbitrary<Field> = fc.oneof(
  fc.constantFrom('email', 'first_name', 'last_name', 'name', 'phone', 'company_name' as const),
  fc.constantFrom(...KEYS).map((key) => ({ key })),
);
const clauseArb: fc.Arbitrary<Clause> = fc.oneof(
  fc.record({ negated: fc.boolean(), field: fieldArb, op: fc.constant('~' as const), value: text(3, 4) }),
  fc.record({
    negated: fc.boolean(),
    field: fc.constantFrom('phone', 'email' as const),
    op: fc.constant('~' as const),
    value: text(6, 9, PHONE_CHARS),
    // Most often a part of one of the customers' phones or emails, so that long terms of
    // digits, which the windows answer, match too.
    slice: fc.option(
      fc.record({ pick: fc.nat(), start: fc.nat(4), length: fc.integer({ min: 6, max: 12 }) }),
      {
        nil: undefined,
      },
    ),
  }),
  fc.record({
    negated: fc.boolean(),
    field: fieldArb,
    op: fc.constant(':' as const),
    value: fc.option(text(0, 4), { nil: null }),
  }),
  fc.record({
    negated: fc.boolean(),
    field: fc.constant('created' as const),
    op: fc.constantFrom(':', '>', '>=', '<', '<=' as const),
    value: fc.integer({ min: 0, max: 2_000_000_000 }),
  }),
);
const queryArb = fc.record({
  join: fc.constantFrom('AND', 'OR', ' '),
  clauses: fc.array(clauseArb, { minLength: 1, maxLength: 4 }),
});

const quote = (value: string) => `"${value.replace(/[\\"']/g, (c) => `\\${c}`)}"`;
function render(query: { join: string; clauses: Clause[] }): string {
  const parts = query.clauses.map((c) => {
    const field = typeof c.field === 'object' ? `metadata[${quote(c.field.key)}]` : c.field;
    const value = c.value === null ? 'null' : typeof c.value === 'number' ? String(c.value) : quote(c.value);
    return `${c.negated ? '-' : ''}${field}${c.op}${value}`;
  });
  return parts.join(query.join === ' ' ? ' ' : ` ${query.join} `);
}

function fieldOf(p: Person, field: Field): string | null {
  if (typeof field === 'object') return p.metadata?.[field.key] ?? null;
  if (field === 'name') return [p.first_name, p.last_name].filter((s) => s !== '').join(' ');
  return p[field];
}
function holds(p: Person, c: Clause): boolean {
  let result: boolean;
  if (c.field === 'created') {
    const n = c.value as number;
    result = {
      ':': p.created === n,
      '>': p.created > n,
      '>=': p.created >= n,
      '<': p.created < n,
      '<=': p.created <= n,
    }[c.op];
  } else {
    const v = fieldOf(p, c.field);
    if (c.value === null) result = v === null;
    else if (v === null) result = false;
    else if (c.op === '~') result = v.toLowerCase().includes((c.value as string).toLowerCase());
    else result = v.toLowerCase() === (c.value as string).toLowerCase();
  }
  return c.negated ? !result : result;
}

forEachDatabase('search against an in-memory filter', (dialect) => {
  const { h } = useHarness(dialect);

  test('random customers, random queries: the same customers, newest first', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(personInput, { minLength: 1, maxLength: 12 }),
        fc.array(queryArb, { minLength: 1, maxLength: 8 }),
        async (inputs, queries) => {
          const acct = await h.account('property');
          const people: Person[] = [];
          for (const input of inputs) {
            const res = await h.request('POST', '/v1/customers', { key: acct.test, json: input });
            assert.equal(res.status, 200, res.raw);
            people.push(res.body);
          }
          const newestFirst = [...people].sort((a, b) => (a.id < b.id ? 1 : -1));
          const sliceOf = (c: Clause): Clause => {
            if (!('slice' in c) || c.slice === undefined || (c.field !== 'phone' && c.field !== 'email'))
              return c;
            const field = c.field;
            const values = people.map((p) => p[field]).filter((v): v is string => v !== null);
            if (values.length === 0) return c;
            const value = values[c.slice.pick % values.length] as string;
            const part = value.slice(c.slice.start, c.slice.start + c.slice.length);
            return part.length >= 3 ? { ...c, value: part } : c;
          };
          for (const asked of queries) {
            const query = { ...asked, clauses: asked.clauses.map(sliceOf) };
            const text = render(query);
            const mixed = query.join === 'OR' && query.clauses.length > 1 ? 'or' : 'and';
            const expected = newestFirst
              .filter((p) =>
                mixed === 'or'
                  ? query.clauses.some((c) => holds(p, c))
                  : query.clauses.every((c) => holds(p, c)),
              )
              .map((p) => p.id);
            const res = await h.request('GET', '/v1/customers/search', {
              key: acct.test,
              query: { query: text, limit: 100 },
            });
            assert.equal(res.status, 200, `${text}: ${res.raw}`);
            assert.deepEqual(
              res.body.data.map((c: Person) => c.id),
              expected,
              text,
            );
          }
        },
      ),
      { numRuns: 25 },
    );
  });
});
