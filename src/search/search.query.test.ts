import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppError } from '../errors.js';
import { parseSearchQuery } from './search.query.js';

const fails = (query: string, message: RegExp, position: number) => {
  assert.throws(
    () => parseSearchQuery(query),
    (error: unknown) => {
      assert.ok(error instanceof AppError, String(error));
      assert.equal(error.code, 'parameter_invalid');
      assert.equal(error.param, 'query');
      assert.match(error.message, message);
      assert.match(error.message, new RegExp(`at position ${position}\\.$`), error.message);
      return true;
    },
    query,
  );
};

test('every field with : and ~, metadata with either quote, null, created comparisons', () => {
  for (const field of ['email', 'first_name', 'last_name', 'name', 'phone', 'company_name'] as const) {
    assert.deepEqual(parseSearchQuery(`${field}:"Ada"`).clauses, [
      { field: { kind: 'string', name: field }, negated: false, op: ':', value: 'Ada' },
    ]);
    assert.deepEqual(parseSearchQuery(`${field}~'Ada'`).clauses[0]?.op, '~');
    assert.deepEqual(parseSearchQuery(`-${field}:null`).clauses, [
      { field: { kind: 'string', name: field }, negated: true, op: ':', value: null },
    ]);
  }
  assert.deepEqual(parseSearchQuery(`metadata["plan"]:"pro"`).clauses[0]?.field, {
    kind: 'metadata',
    key: 'plan',
  });
  assert.deepEqual(parseSearchQuery(`metadata['a "b"']~"pro"`).clauses[0]?.field, {
    kind: 'metadata',
    key: 'a "b"',
  });
  assert.equal(parseSearchQuery(`metadata["plan"]:null`).clauses[0]?.value, null);
  for (const op of [':', '>', '>=', '<', '<='] as const) {
    assert.deepEqual(parseSearchQuery(`created${op}1713100800`).clauses, [
      { field: { kind: 'created' }, negated: false, op, value: 1713100800 },
    ]);
  }
});

test('quoting and escapes: \\" \\\' \\\\ inside either quote, the other quote as is, "null" as text', () => {
  assert.equal(parseSearchQuery(String.raw`name:"a\"b\'c\\d"`).clauses[0]?.value, `a"b'c\\d`);
  assert.equal(parseSearchQuery(String.raw`name:'it\'s "x"'`).clauses[0]?.value, `it's "x"`);
  assert.equal(parseSearchQuery(`name:"null"`).clauses[0]?.value, 'null');
  assert.equal(parseSearchQuery(`email~"a_%"`).clauses[0]?.value, 'a_%');
  assert.equal(parseSearchQuery(`name:"Zoë 日本"`).clauses[0]?.value, 'Zoë 日本');
});

test('AND, OR (either case) and a space; a single clause; spaces around', () => {
  assert.equal(parseSearchQuery(`email~"ada" AND name~"love"`).join, 'and');
  assert.equal(parseSearchQuery(`email~"ada" and name~"love"`).join, 'and');
  assert.equal(parseSearchQuery(`email~"ada" name~"love"  phone:null`).clauses.length, 3);
  assert.equal(parseSearchQuery(`email~"ada" OR name~"love" or phone:null`).join, 'or');
  assert.deepEqual(parseSearchQuery(`  email~"ada"  `).clauses.length, 1);
});

test('10 clauses pass; the 11th is refused at its position', () => {
  const ten = Array.from({ length: 10 }, (_, i) => `created>${i}`).join(' AND ');
  assert.equal(parseSearchQuery(ten).clauses.length, 10);
  fails(`${ten} AND created>10`, /at most 10 clauses/, ten.length + 6);
});

test('each syntax error names its position, counting characters from 1', () => {
  fails(`email~"ada" AND name~"love" OR phone:null`, /AND or with OR, never both/, 29);
  fails(`email~"ada" OR name~"love" phone:null`, /never both/, 28);
  fails(`email~"ada" OR name~"love" AND phone:null`, /never both/, 28);
  fails(`nickname:"x"`, /unknown field 'nickname'/, 1);
  fails(`email="x"`, /unexpected character '='/, 6);
  fails(`email "x"`, /expected ':', '~'/, 6);
  fails(`email:x`, /expected a quoted value or null but found 'x'/, 7);
  fails(`email:`, /found the end of the query/, 7);
  fails(`email:"abc`, /never closed/, 7);
  fails(String.raw`email:"a\nb"`, /backslash escapes only/, 9);
  fails(`email~"ab"`, /at least 3 characters/, 7);
  fails(`email~null`, /null is matched with :/, 7);
  fails(`email>"abc"`, /compares created only/, 6);
  fails(`created~5`, /not ~/, 8);
  fails(`created>"5"`, /unix seconds, unquoted/, 9);
  fails(`created>99999999999999999999`, /too large/, 9);
  fails(`metadata:"x"`, /expected '\['/, 9);
  fails(`metadata[plan]:"x"`, /quoted metadata key/, 10);
  fails(`metadata[""]:"x"`, /not empty/, 10);
  fails(`metadata["plan":"x"`, /expected '\]'/, 16);
  fails(`email~"ada"name~"love"`, /expected a space, AND or OR/, 12);
  fails(`-`, /expected a field name but found the end/, 2);
  fails(`(email~"ada")`, /unexpected character '\('/, 1);
  fails(`email:"a\u0000b"`, /NUL/, 9);
  // Characters, not UTF-16 units: the emoji before the error counts once.
  fails(`name:"😀" x`, /unknown field 'x'/, 10);
});
