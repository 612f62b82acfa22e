import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { forEachDatabase, useHarness } from '../../test/helpers/harness.js';
import { searchRequests } from '../../test/helpers/search.js';
import { parseSearchQuery } from './search.query.js';
import { indexedTerms, sampledTrigrams } from './search.sql.js';
import * as store from './search.store.js';

// The index is asked about a few trigrams of a term, not all of them: whatever contains the term
// must still be among the candidates, and the exact recheck must still drop what merely shares
// those trigrams.

const CHARS = ['a', 'b', 'c', '1', '2', ' ', '+', '"', '%', '_', '\\', 'é', '😀'];
const textOf = (min: number, max: number) =>
  fc.array(fc.constantFrom(...CHARS), { minLength: min, maxLength: max }).map((a) => a.join(''));
const alnum = (t: string) => /^[\p{L}\p{N}]{3}$/u.test(t);

/** `pattern` as LIKE reads it, `%` any run and nothing else special (the sampled trigrams are literal). */
const likeFragmentsInOrder = (value: string, fragments: string[]) => {
  let from = 0;
  for (const f of fragments) {
    const at = value.indexOf(f, from);
    if (at < 0) return false;
    from = at + f.length;
  }
  return true;
};

test('every value that contains the term contains its sampled trigrams (apart and in order, when asked), whatever the estimate of how common they are', () => {
  const estimate = fc.option(fc.dictionary(textOf(3, 3), fc.double({ min: 0, max: 1, noNaN: true })), {
    nil: undefined,
  });
  fc.assert(
    fc.property(textOf(3, 14), textOf(0, 6), textOf(0, 6), estimate, (term, before, after, shares) => {
      const value = before + term + after;
      const share = shares && ((t: string) => shares[t] ?? 0);
      for (const usable of [undefined, alnum]) {
        const apart = sampledTrigrams(term, { apart: true, usable, share });
        assert.ok(apart.length >= 1 && apart.length <= 3, term);
        for (const t of apart) assert.ok(apart.length === 1 || Array.from(t).length === 3, t);
        assert.ok(likeFragmentsInOrder(value, apart), `${JSON.stringify(term)} in ${JSON.stringify(value)}`);
      }
      const any = sampledTrigrams(term, { apart: false, share });
      assert.ok(any.length >= 1 && any.length <= 3, term);
      for (const t of any) assert.ok(value.includes(t), `${JSON.stringify(t)} in ${JSON.stringify(value)}`);
    }),
    { numRuns: 2000 },
  );
});

test('without an estimate, the first, middle and last trigram; apart, the middle one only from nine characters', () => {
  const apart = { apart: true };
  assert.deepEqual(sampledTrigrams('abc', apart), ['abc']);
  assert.deepEqual(sampledTrigrams('aaaaa', apart), ['aaaaa']);
  assert.deepEqual(sampledTrigrams('abcd', { apart: false }), ['abcd']);
  assert.deepEqual(sampledTrigrams('abcde', { apart: false }), ['abc', 'bcd', 'cde']);
  assert.deepEqual(sampledTrigrams('5550123', { apart: false }), ['555', '501', '123']);
  assert.deepEqual(sampledTrigrams('5550123', apart), ['555', '123']);
  assert.deepEqual(sampledTrigrams('grace hopper', apart), ['gra', 'e h', 'per']);
  // pg_trgm indexes letters and digits only: "e h" would give it nothing to look up.
  assert.deepEqual(sampledTrigrams('grace hopper', { apart: true, usable: alnum }), ['gra', 'per']);
  // None of the three usable: the whole term, of which pg_trgm takes every trigram of "12345".
  assert.deepEqual(sampledTrigrams('.12345@', { apart: true, usable: alnum }), ['.12345@']);
  assert.deepEqual(sampledTrigrams('+1 ', { apart: true, usable: alnum }), ['+1 ']);
  assert.deepEqual(sampledTrigrams('a b c d', { apart: true, usable: alnum }), ['a b c d']);
});

forEachDatabase('search by a few trigrams', (dialect) => {
  const { h } = useHarness(dialect);
  const { create, search } = searchRequests(h);

  test('near misses that share the sampled trigrams are dropped; every real match is found', async () => {
    const acct = await h.account('trigrams');
    // "5550123" samples 555 and 123 on PostgreSQL (and 501 on SQLite): the misses have them, not the term.
    const phones = [
      '+1 5550123',
      '+1 555 0123',
      '+1 1235550',
      '5550123 ext',
      '+1 555 501 123',
      '+44 5550123 1',
    ];
    for (const [i, phone] of phones.entries()) await create(acct, { email: `p${i}@example.com`, phone });
    assert.deepEqual(await search(acct, 'phone~"5550123"'), [
      'p5@example.com',
      'p3@example.com',
      'p0@example.com',
    ]);
    // "grace hopper" samples gra, e h (SQLite) and per.
    const names = [
      ['Grace', 'Hopper'],
      ['Grace', 'Piper'],
      ['Gracie', 'Hopper'],
      ['Ada', 'Grace Hopper'],
      ['Graceh', 'Pepper'],
    ];
    for (const [i, [first_name, last_name]] of names.entries())
      await create(acct, { email: `n${i}@example.com`, first_name, last_name });
    assert.deepEqual(await search(acct, 'name~"grace hopper"'), ['n3@example.com', 'n0@example.com']);
    assert.deepEqual(await search(acct, 'name~"grace hopper" OR phone~"1235550"'), [
      'n3@example.com',
      'n0@example.com',
      'p2@example.com',
    ]);
  });

  test("the few trigrams give a superset of the whole term's candidates, which is the fallback", async () => {
    const acct = await h.account('fallback');
    // Company names: a phone term of six digits or more is looked up by its windows instead.
    for (const [i, company_name] of [
      'Shop 7770456',
      'Shop 777 704 456',
      'Shop 777-704-456',
      'Shop 7774 7704 456',
    ].entries())
      await create(acct, { email: `f${i}@example.com`, company_name });
    const index = indexedTerms(parseSearchQuery('company_name~"7770456"'), dialect);
    const few = await store.indexCandidates(h.db.reader, dialect, index, 100, 'few');
    const all = await store.indexCandidates(h.db.reader, dialect, index, 100, 'all');
    assert.equal(all.length, 1);
    assert.equal(few.length, 4);
    for (const key of all) assert.ok(few.includes(key));
  });
});
