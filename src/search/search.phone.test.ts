import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import { forEachDatabase, useHarness } from '../../test/helpers/harness.js';
import { searchProbes, searchRequests } from '../../test/helpers/search.js';
import { migrateToLatest } from '../db/migrate.js';
import { windowsFts, windowsIndex } from '../db/migrations.search-windows.js';
import { digitWindows } from '../db/search-row.js';
import { termWindows } from './search.sql.js';

// A phone term of six digits or more is looked up by its runs of six digits in the phone's own
// index, not by its digit trigrams (each held by one number in a hundred): the candidates are a
// superset of the answers whatever the punctuation, and the exact match decides.

const PHONE_WINDOWS_FTS = windowsFts('phone');
const PHONE_WINDOWS_INDEX = windowsIndex('phone');

describe('phone windows', () => {
  test('the runs of six digits, of the digits alone, each once', () => {
    assert.deepEqual(digitWindows('+1 (415) 555-0123'), [
      '141555',
      '415555',
      '155550',
      '555501',
      '555012',
      '550123',
    ]);
    assert.deepEqual(digitWindows('12345'), []);
    assert.deepEqual(digitWindows('111111111'), ['111111']);
    // Only ASCII digits count; any other character is left out, on both sides alike.
    assert.deepEqual(digitWindows('١٢٣٤٥٦ 12 34 56'), ['123456']);
  });

  test("a term's windows: first, middle and last for `few`, every one for `all`, none off the phone", () => {
    assert.deepEqual(termWindows('phone', '4155550123', 'few'), ['415555', '555501', '550123']);
    assert.deepEqual(termWindows('phone', '4155550123', 'all'), digitWindows('4155550123'));
    assert.deepEqual(termWindows('phone', '5550123', 'few'), ['555012', '550123']);
    assert.deepEqual(termWindows('phone', '55501', 'few'), []);
    assert.deepEqual(termWindows('company_name', '4155550123', 'few'), []);
    assert.deepEqual(termWindows('name', '4155550123', 'few'), []);
    assert.deepEqual(termWindows('email', 'a.4155550123@', 'few'), ['415555', '555501', '550123']);
  });
});

forEachDatabase('search by phone windows', (dialect) => {
  const { h } = useHarness(dialect);

  const { create, search } = searchRequests(h);
  const { candidates, asked } = searchProbes(h, dialect);

  test('six digits or more: the windows find every way of writing them, the exact match keeps the literal ones', async () => {
    const acct = await h.account('windows');
    const phones = ['+1 415 555 0123', '+14155550123', '415-555-0123', '+1 415 555 0124', '(555) 012-3999'];
    for (const [i, phone] of phones.entries()) await create(acct, { email: `w${i}@example.com`, phone });
    // Digits 5550123 are in the first three and the last; the fourth ends 0124.
    assert.equal((await candidates('phone~"5550123"')).length, 4);
    assert.deepEqual(await search(acct, 'phone~"5550123"'), ['w1@example.com']);
    assert.deepEqual(await search(acct, 'phone~"555 0123"'), ['w0@example.com']);
    assert.deepEqual(await search(acct, 'phone~"555-0123"'), ['w2@example.com']);
    assert.deepEqual(await search(acct, 'phone~"(555) 012"'), ['w4@example.com']);
    assert.deepEqual(await search(acct, '-phone~"5550123" AND phone~"415"'), [
      'w3@example.com',
      'w2@example.com',
      'w0@example.com',
    ]);
    // Digits a single punctuation mark apart in every place still have their windows.
    assert.deepEqual(await search(acct, 'phone~"4-1-5-5-5-5"'), []);
    const names = dialect === 'sqlite' ? PHONE_WINDOWS_FTS : 'phone_windows';
    assert.match(await asked(acct, 'phone~"5550123"'), new RegExp(names));
  });

  test('fewer than six digits: the trigrams answer', async () => {
    const acct = await h.account('short');
    await create(acct, { email: 's0@example.com', phone: '+1 415 555 0123' });
    await create(acct, { email: 's1@example.com', phone: '+44 20 7946 0958' });
    const texts = await asked(acct, 'phone~"555 01"');
    assert.doesNotMatch(texts, /phone_windows/);
    assert.deepEqual(await search(acct, 'phone~"555 01"'), ['s0@example.com']);
    assert.deepEqual(await search(acct, 'phone~"+44"'), ['s1@example.com']);
  });

  test('an update and a delete keep the windows in step', async () => {
    const acct = await h.account('kept');
    const { id } = await create(acct, { email: 'k0@example.com', phone: '+1 202 555 0199' });
    await create(acct, { email: 'k1@example.com', phone: '+1 303 555 0142' });
    assert.deepEqual(await search(acct, 'phone~"202 555 0199"'), ['k0@example.com']);
    const patched = await h.request('POST', `/v1/customers/${id}`, {
      key: acct.test,
      json: { phone: '+1 808 555 0177' },
    });
    assert.equal(patched.status, 200, patched.raw);
    assert.deepEqual(await candidates('phone~"202 555 0199"'), []);
    assert.deepEqual(await search(acct, 'phone~"808 555 0177"'), ['k0@example.com']);
    const cleared = await h.request('POST', `/v1/customers/${id}`, { key: acct.test, json: { phone: '' } });
    assert.equal(cleared.status, 200, cleared.raw);
    assert.deepEqual(await candidates('phone~"808 555 0177"'), []);
    // Windows it shares with k1 (120255, 202555, …), taken out by an update and put back, then by
    // the delete's secure-delete: FTS5 without positions corrupts its index on this.
    await h.request('POST', `/v1/customers/${id}`, { key: acct.test, json: { phone: '+1 303 555 0111' } });
    await h.request('POST', `/v1/customers/${id}`, { key: acct.test, json: { phone: '+1 303 555 0199' } });
    assert.equal((await h.request('DELETE', `/v1/customers/${id}`, { key: acct.test })).status, 200);
    assert.deepEqual(await candidates('phone~"303 555 0199"'), []);
    assert.deepEqual(await search(acct, 'phone~"303 555 0142"'), ['k1@example.com']);
    if (dialect === 'sqlite') {
      await sql
        .raw(`insert into ${PHONE_WINDOWS_FTS}(${PHONE_WINDOWS_FTS}, rank) values ('integrity-check', 1)`)
        .execute(h.db.kysely);
    }
  });

  test('the migration gives the customers already there their windows, and the index', async () => {
    const acct = await h.account('before');
    for (const [i, phone] of ['+1 612 555 0101', '+1 612 555 0102', null].entries())
      await create(acct, { email: `b${i}@example.com`, phone });
    // Back to the state before the migration: no index, no column.
    const db = h.db.kysely;
    if (dialect === 'sqlite') {
      for (const t of ['ai', 'ad', 'au']) await sql.raw(`drop trigger ${PHONE_WINDOWS_FTS}_${t}`).execute(db);
      await sql.raw(`drop table ${PHONE_WINDOWS_FTS}`).execute(db);
    } else {
      await sql.raw(`drop index ${PHONE_WINDOWS_INDEX}`).execute(db);
    }
    await sql`alter table customer_search drop column phone_windows`.execute(db);
    await sql`delete from lunipay_migrations where name = '0015_customer_search_phone_windows'`.execute(db);
    const { applied } = await migrateToLatest(db as never, dialect);
    assert.deepEqual(applied, ['0015_customer_search_phone_windows']);
    const stored = await db
      .selectFrom('customer_search')
      .select(['email', 'phone_windows'])
      .where('email', 'like', 'b_@example.com')
      .orderBy('email')
      .execute();
    assert.deepEqual(
      stored.map((r) => r.phone_windows),
      [digitWindows('+1 612 555 0101').join(' '), digitWindows('+1 612 555 0102').join(' '), null],
    );
    assert.equal((await candidates('phone~"6125550102"')).length, 1);
    assert.deepEqual(await search(acct, 'phone~"555 010"'), ['b1@example.com', 'b0@example.com']);
    assert.deepEqual(await search(acct, 'phone~"6125550101"'), []);
    assert.deepEqual(await search(acct, 'phone~"612 555 0101"'), ['b0@example.com']);
  });
});
