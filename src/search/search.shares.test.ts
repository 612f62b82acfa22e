import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forEachDatabase, useHarness } from '../../test/helpers/harness.js';
import { recordingReads } from '../../test/helpers/search.js';
import { parseSearchQuery } from './search.query.js';
import { searchCustomers } from './search.service.js';
import { refreshShares, SHARES_MAX_AGE_MS, shareOf, trigramShares } from './search.shares.js';
import { COMMON_SHARE, indexedTerms, sampledTrigrams } from './search.sql.js';
import * as store from './search.store.js';
import { startSearchUpkeep } from './search.upkeep.js';

// A search asks the index about a term's rarest trigrams, by an estimate of how common each is;
// whatever the estimate says, every value holding the term still holds what is asked about.

const shares = (common: Record<string, number>) => (trigram: string) => common[trigram] ?? 0;

test("a sample's trigram shares: each value counted once per trigram, those seen once left out", () => {
  const counted = trigramShares(['grace hopper', 'grace piper', 'ada lovelace', 'aaaa']);
  assert.equal(counted.get('gra'), 0.5);
  assert.equal(counted.get('ace'), 0.75);
  assert.equal(counted.get('per'), 0.5);
  // "aaaa" holds "aaa" twice, and is the only value holding it.
  assert.equal(counted.has('aaa'), false);
  assert.equal(counted.has('hop'), false);
  assert.deepEqual(trigramShares([]), new Map());
});

test('the rarest trigrams are asked about; a common one only when nothing rarer is left', () => {
  const firstNames = shares({ gra: 0.125, rac: 0.125, ace: 0.125, 'ce ': 0.125 });
  assert.deepEqual(sampledTrigrams('grace quillonby', { apart: false, share: firstNames }), [
    'e q',
    'qui',
    'nby',
  ]);
  const alnum = (t: string) => /^[\p{L}\p{N}]{3}$/u.test(t);
  assert.deepEqual(sampledTrigrams('grace quillonby', { apart: true, usable: alnum, share: firstNames }), [
    'qui',
    'llo',
    'nby',
  ]);
  // A phone's digits after the prefix most phones share.
  const phones = shares({ '+1 ': 1, '1 5': 0.3, ' 55': 0.3, '555': 0.3, '550': 0.05 });
  assert.deepEqual(sampledTrigrams('+1 5550123', { apart: false, share: phones }), ['501', '012', '123']);
  // Two rare ones and the rest common: the two, not a third that reads a long list.
  const inside = shares({ gra: 0.2, rac: 0.2, ace: 0.2 });
  assert.deepEqual(sampledTrigrams('zgracez', { apart: false, share: inside }), ['zgr', 'cez']);
  // All common: the three least common, which together may still narrow.
  assert.deepEqual(sampledTrigrams('+1 555', { apart: false, share: phones }), ['1 5', ' 55', '555']);
  const falling = shares({ abc: 0.5, bcd: 0.4, cde: 0.3 });
  assert.deepEqual(sampledTrigrams('abcde', { apart: false, share: falling }), ['abc', 'bcd', 'cde']);
  // A rarer trigram takes a common one's place, never that of one the index cannot use: with
  // none of the three usable, the whole term (pg_trgm takes every trigram of "12345" from it).
  assert.deepEqual(sampledTrigrams('.12345@', { apart: true, usable: alnum, share: phones }), ['.12345@']);
});

forEachDatabase('Trigram shares', (dialect) => {
  // The server's own upkeep off: only the test takes estimates.
  const { h, acct } = useHarness(dialect, { LUNIPAY_SEARCH_UPKEEP_SECONDS: '0' });
  const log = { info: () => {}, warn: (details: object) => assert.fail(JSON.stringify(details)) };

  test('no estimate while the upkeep is off; the first is taken at start, not at the first upkeep', async () => {
    await startSearchUpkeep(h.db, { upkeepSeconds: 0 }, log).stop();
    assert.equal(shareOf(h.db), undefined);
    await startSearchUpkeep(h.db, { upkeepSeconds: 3600 }, log).stop();
    assert.notEqual(shareOf(h.db), undefined);
    // Fresh: the next upkeep keeps it; one older than the limit is taken again.
    assert.equal(await refreshShares(h.db), false);
    assert.equal(await refreshShares(h.db, SHARES_MAX_AGE_MS, Date.now() + SHARES_MAX_AGE_MS), true);
  });

  test("a first name most customers share is left out of the index's lookups; the answer is exact", async () => {
    for (let i = 0; i < 40; i++) {
      const last = `Zz${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + Math.floor(i / 26))}wy${i}`;
      const res = await h.request('POST', '/v1/customers', {
        key: acct.test,
        json: { email: `g${i}@example.com`, first_name: 'Grace', last_name: last },
      });
      assert.equal(res.status, 200, res.raw);
    }
    const res = await h.request('POST', '/v1/customers', {
      key: acct.test,
      json: { email: 'quillonby@example.com', first_name: 'Grace', last_name: 'Quillonby' },
    });
    assert.equal(res.status, 200, res.raw);
    await refreshShares(h.db, 0);
    const estimate = shareOf(h.db);
    assert.ok(estimate !== undefined);
    assert.ok(estimate('name', 'gra') >= COMMON_SHARE, String(estimate('name', 'gra')));
    assert.equal(estimate('name', 'qui'), 0);

    const index = indexedTerms(parseSearchQuery('name~"Grace Quillonby"'), dialect);
    const asked = (share?: typeof estimate) =>
      store
        .candidatesQueries(dialect, index, 100, 'few', share)
        .map((q) => q.compile(h.db.reader).parameters.join(' '))
        .join(' ');
    assert.match(asked(), /gra/);
    assert.doesNotMatch(asked(estimate), /gra/);
    assert.match(asked(estimate), /qui/);

    const found = await h.request('GET', '/v1/customers/search', {
      key: acct.test,
      query: { query: 'name~"grace quillonby"' },
    });
    assert.equal(found.status, 200, found.raw);
    assert.deepEqual(
      (found.body.data as { email: string }[]).map((c) => c.email),
      ['quillonby@example.com'],
    );
  });
  test('the search service looks up what its estimate says', async () => {
    // The customers of the test before: 41 "Grace"s, one of them Quillonby.
    const { db, asked } = recordingReads(h.db);
    const auth = { accountId: acct.id, mode: 'test' as const, keyId: acct.testKeyId };
    const search = async () => {
      asked.length = 0;
      const found = await searchCustomers({ db, secretBox: h.secretBox }, auth, {
        query: 'name~"grace quillonby"',
      });
      assert.deepEqual(
        found.data.map((c) => c.email),
        ['quillonby@example.com'],
      );
      // The statement that asks the index: the one naming the last name's trigram.
      const lookup = asked.find((text) => text.includes('qui') && !text.includes('grace quillonby'));
      assert.ok(lookup !== undefined, 'the index was asked about the last name');
      return lookup;
    };
    await refreshShares(h.db, 0);
    assert.doesNotMatch(await search(), /gra/);
  });
});
