import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import { forEachDatabase, useHarness } from '../../test/helpers/harness.js';
import { searchProbes, searchRequests } from '../../test/helpers/search.js';
import { migrateToLatest } from '../db/migrate.js';
import { windowsFts, windowsIndex } from '../db/migrations.search-windows.js';
import { windowsText } from '../db/search-row.js';

// An email term with six digits or more in a row is looked up by its windows of six digits, in
// the email's own windows' index, as a phone term is (search.phone.test.ts): its digit trigrams
// are each held by one email in a hundred of those with digits. The exact match decides.

const FTS = windowsFts('email');

forEachDatabase('search by email windows', (dialect) => {
  const { h } = useHarness(dialect);
  const { create, search } = searchRequests(h);
  const { candidates, asked } = searchProbes(h, dialect);

  test('six digits or more: the windows find every email with those digits, the exact match keeps the literal ones', async () => {
    const acct = await h.account('email-windows');
    for (const email of [
      'a.1234567@example.com',
      'b1234567@example.com',
      'c12-34567@example.com',
      'd.1234568@example.com',
    ])
      await create(acct, { email });
    assert.equal(
      (await candidates('email~".1234567@"')).length,
      3,
      'the digits 1234567, whatever between them',
    );
    assert.deepEqual(await search(acct, 'email~".1234567@"'), ['a.1234567@example.com']);
    assert.deepEqual(await search(acct, 'email~"1234567"'), [
      'b1234567@example.com',
      'a.1234567@example.com',
    ]);
    assert.deepEqual(await search(acct, 'email~"C12-345"'), ['c12-34567@example.com']);
    assert.deepEqual(await search(acct, '-email~"1234567" AND email~"123"'), ['d.1234568@example.com']);
    const names = dialect === 'sqlite' ? FTS : 'email_windows';
    assert.match(await asked(acct, 'email~".1234567@"'), new RegExp(names));
    // Fewer than six digits: the email's trigrams.
    assert.doesNotMatch(await asked(acct, 'email~"12345@"'), /email_windows/);
    assert.deepEqual(await search(acct, 'email~".12345"'), [
      'd.1234568@example.com',
      'a.1234567@example.com',
    ]);
  });

  test('an update and a delete keep the windows in step', async () => {
    const acct = await h.account('email-kept');
    const { id } = await create(acct, { email: 'k.2025550199@example.com' });
    await create(acct, { email: 'l.2025550142@example.com' });
    const patched = await h.request('POST', `/v1/customers/${id}`, {
      key: acct.test,
      json: { email: 'k.8085550177@example.com' },
    });
    assert.equal(patched.status, 200, patched.raw);
    assert.deepEqual(await candidates('email~"2025550199"'), []);
    assert.deepEqual(await search(acct, 'email~"8085550177"'), ['k.8085550177@example.com']);
    // Windows shared with the other customer (202555, 025550, …), put back, then deleted.
    await h.request('POST', `/v1/customers/${id}`, {
      key: acct.test,
      json: { email: 'k.2025550111@example.com' },
    });
    await h.request('POST', `/v1/customers/${id}`, { key: acct.test, json: { email: 'k@example.com' } });
    await h.request('POST', `/v1/customers/${id}`, {
      key: acct.test,
      json: { email: 'k.2025550199@example.com' },
    });
    assert.equal((await h.request('DELETE', `/v1/customers/${id}`, { key: acct.test })).status, 200);
    assert.deepEqual(await candidates('email~"2025550199"'), []);
    assert.deepEqual(await search(acct, 'email~"2025550142"'), ['l.2025550142@example.com']);
    if (dialect === 'sqlite')
      await sql.raw(`insert into ${FTS}(${FTS}, rank) values ('integrity-check', 1)`).execute(h.db.kysely);
  });

  test('the migration gives the customers already there their windows, and the index', async () => {
    const acct = await h.account('email-before');
    for (const email of ['m.6125550101@example.com', 'm.6125550102@example.com', 'm@example.com'])
      await create(acct, { email });
    const db = h.db.kysely;
    if (dialect === 'sqlite') {
      for (const t of ['ai', 'ad', 'au']) await sql.raw(`drop trigger ${FTS}_${t}`).execute(db);
      await sql.raw(`drop table ${FTS}`).execute(db);
    } else {
      await sql.raw(`drop index ${windowsIndex('email')}`).execute(db);
    }
    await sql`alter table customer_search drop column email_windows`.execute(db);
    await sql`delete from lunipay_migrations where name = '0017_customer_search_email_windows'`.execute(db);
    const { applied } = await migrateToLatest(db as never, dialect);
    assert.deepEqual(applied, ['0017_customer_search_email_windows']);
    const stored = await db
      .selectFrom('customer_search')
      .select(['email', 'email_windows'])
      .where('email', 'like', 'm%@example.com')
      .orderBy('email')
      .execute();
    assert.deepEqual(
      stored.map((r) => [r.email, r.email_windows]),
      [
        ['m.6125550101@example.com', windowsText('6125550101')],
        ['m.6125550102@example.com', windowsText('6125550102')],
        ['m@example.com', null],
      ],
    );
    assert.equal((await candidates('email~"6125550102"')).length, 1);
    assert.deepEqual(await search(acct, 'email~".6125550101@"'), ['m.6125550101@example.com']);
    assert.deepEqual(await search(acct, 'email~"555010"'), [
      'm.6125550102@example.com',
      'm.6125550101@example.com',
    ]);
  });
});
