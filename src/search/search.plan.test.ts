import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import { forEachDatabase, type TestAccount, useHarness } from '../../test/helpers/harness.js';
import { insertCustomers, type NewCustomerRow } from '../customers/customers.store.js';
import type { Db } from '../db/index.js';
import { windowsFts, windowsIndex } from '../db/migrations.search-windows.js';
import { newId } from '../ids.js';
import { parseSearchQuery } from './search.query.js';
import { INDEX_CAP, WALK_CAP } from './search.service.js';
import { exactEmail, indexedTerms, queryPredicate } from './search.sql.js';
import * as store from './search.store.js';
import { upkeepSearchIndex } from './search.upkeep.js';

// At a size where a scan would show: the plans each search takes, read from the database, and
// the bounds that keep a search the index cannot narrow from reading every customer at once.

const SIZE = 25_000;
/** Names spread over many trigrams, as real ones are: four letters from the number. */
const word = (n: number) =>
  Array.from({ length: 4 }, (_, k) => String.fromCharCode(97 + (Math.floor(n / 26 ** k) % 26))).join('');
const first = (i: number) => word((i * 7919) % 26 ** 4);
const last = (i: number) => word((i * 104_729) % 26 ** 4);

async function fill(db: Db, acct: TestAccount, n: number, email: (i: number) => string): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  for (let start = 0; start < n; start += 2000) {
    const rows: NewCustomerRow[] = [];
    for (let i = start; i < Math.min(n, start + 2000); i++) {
      const address = email(i);
      rows.push({
        id: newId('cus'),
        account_id: acct.id,
        mode: 'test',
        email: address,
        email_lower: address.toLowerCase(),
        first_name: first(i),
        last_name: last(i),
        phone: `+1555${String(i).padStart(7, '0')}`,
        company_name: i % 2 === 0 ? `Company ${i}` : null,
        notes: null,
        metadata: i === 0 ? JSON.stringify({ plan: 'rare' }) : null,
        stripe_customer_id: null,
        created: now,
        updated: now,
      });
    }
    await db.kysely.transaction().execute((trx) => insertCustomers(trx, rows, 256));
  }
}

forEachDatabase('search plans at scale', (dialect) => {
  // The upkeep is run by the test, not by the server's timer: how full PostgreSQL's pending lists
  // are when a plan is made weighs on whether the planner takes the GIN index at this size.
  const { h, acct } = useHarness(dialect, { LUNIPAY_SEARCH_UPKEEP_SECONDS: '0' });

  type Compilable = { compile(db: typeof h.db.reader): { sql: string; parameters: readonly unknown[] } };
  const plan = async (query: Compilable) => {
    const compiled = query.compile(h.db.reader);
    const prefix = dialect === 'sqlite' ? 'explain query plan ' : 'explain ';
    const { rows } = await h.db.reader.executeQuery({
      ...compiled,
      sql: prefix + compiled.sql,
      query: compiled as never,
    } as never);
    return (rows as Record<string, unknown>[]).map((r) => String(r.detail ?? r['QUERY PLAN'])).join('\n');
  };
  const pageOf = (text: string) => {
    const query = parseSearchQuery(text);
    return {
      query,
      page: {
        owner: { accountId: acct.id, mode: 'test' as const },
        limit: 10,
        predicate: queryPredicate(query, dialect),
      },
    };
  };

  test(`${SIZE.toLocaleString('en-US')} customers: the trigram, email and id indexes answer, never a scan`, async () => {
    await fill(h.db, acct, SIZE, (i) => `person${i}@example.com`);
    const other = await h.account('neighbour');
    await fill(h.db, other, 2000, (i) => `person${i}@example.com`);
    // As the server's upkeep leaves the indexes a few seconds after the writes.
    await upkeepSearchIndex(h.db, 60_000);
    if (dialect === 'postgres') await sql`analyze`.execute(h.db.kysely);

    const { query, page } = pageOf('email~"person1234@"');
    const index = indexedTerms(query, dialect);
    const lookup = await plan(store.candidatesQueries(dialect, index, INDEX_CAP)[0] as Compilable);
    assert.match(
      lookup,
      dialect === 'sqlite' ? /customer_search_email_fts VIRTUAL TABLE INDEX/ : /customer_search_email_trgm/,
      lookup,
    );
    const keys = await store.indexCandidates(h.db.reader, dialect, index, INDEX_CAP);
    assert.equal(keys.length, 2, 'person1234@ of this account and of the neighbour');
    const byKey = await plan(store.candidateSearchQuery(h.db.reader, dialect, page, keys));
    assert.doesNotMatch(byKey, /SCAN (c|s)\b|Seq Scan/, byKey);
    const found = await store.run(store.candidateSearchQuery(h.db.reader, dialect, page, keys));
    assert.deepEqual(
      found.map((r) => r.email),
      ['person1234@example.com'],
    );

    const byName = pageOf(`name~"${first(777)} ${last(777)}"`);
    const namePlan = await plan(
      store.candidatesQueries(dialect, indexedTerms(byName.query, dialect), INDEX_CAP)[0] as Compilable,
    );
    assert.match(
      namePlan,
      dialect === 'sqlite' ? /customer_search_name_fts/ : /customer_search_name_trgm/,
      namePlan,
    );

    // A phone or email term of six digits or more: its windows, in their own index.
    const byWindows = async (query: string, column: 'phone' | 'email') => {
      const terms = indexedTerms(pageOf(query).query, dialect);
      const found = await plan(store.candidatesQueries(dialect, terms, INDEX_CAP, 'few')[0] as Compilable);
      const index = dialect === 'sqlite' ? `${windowsFts(column)} VIRTUAL TABLE INDEX` : windowsIndex(column);
      assert.match(found, new RegExp(index), found);
      return store.indexCandidates(h.db.reader, dialect, terms, INDEX_CAP, 'few');
    };
    assert.equal(
      (await byWindows('phone~"5550012345"', 'phone')).length,
      1,
      '+15550012345 alone holds its windows',
    );
    assert.deepEqual(await byWindows('email~"son012345@"', 'email'), [], 'no email has six digits');

    const exact = pageOf('email:"PERSON42@example.com"');
    const emailPlan = await plan(
      store.emailQuery(h.db.reader, exact.page, exactEmail(exact.query) as string),
    );
    assert.match(emailPlan, /customers_account_mode_email/, emailPlan);

    const walk = pageOf('metadata["plan"]:"rare"');
    const boundary = await store.walkBoundary(h.db.reader, walk.page, WALK_CAP);
    assert.ok(boundary);
    const walkPlan = await plan(store.walkQuery(h.db.reader, walk.page, boundary));
    assert.match(walkPlan, /customers_account_mode_id|customers_pkey/, walkPlan);
    assert.doesNotMatch(walkPlan, /Seq Scan on customers|SCAN c\b/, walkPlan);
  });

  test('a term too common for the index, and a query it cannot narrow, walk a bounded number of customers a page', async () => {
    const common = pageOf('email~"example"');
    const keys = await store.indexCandidates(
      h.db.reader,
      dialect,
      indexedTerms(common.query, dialect),
      INDEX_CAP,
    );
    assert.equal(keys.length, INDEX_CAP + 1, 'the index is read no further than one past the cap');
    const res = await h.request('GET', '/v1/customers/search', {
      key: acct.test,
      query: { query: 'email~"example"', limit: 5 },
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.data.length, 5);
    assert.equal(res.body.has_more, true);

    // The only match is the oldest customer: pages hold nothing until the walk reaches it.
    let pageToken: string | undefined;
    let pages = 0;
    const found: string[] = [];
    do {
      const page = await h.request('GET', '/v1/customers/search', {
        key: acct.test,
        query: { query: 'metadata["plan"]:"rare"', ...(pageToken ? { page: pageToken } : {}) },
      });
      assert.equal(page.status, 200, page.raw);
      found.push(...page.body.data.map((c: { email: string }) => c.email));
      pageToken = page.body.next_page ?? undefined;
      pages++;
    } while (pageToken && pages < 10);
    assert.deepEqual(found, ['person0@example.com']);
    assert.equal(pages, Math.ceil(SIZE / WALK_CAP));
  });
});
