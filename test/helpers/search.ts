import assert from 'node:assert/strict';
import type { KyselyPlugin } from 'kysely';
import type { Db } from '../../src/db/index.js';
import { parseSearchQuery } from '../../src/search/search.query.js';
import { searchCustomers } from '../../src/search/search.service.js';
import { indexedTerms } from '../../src/search/search.sql.js';
import { indexCandidates } from '../../src/search/search.store.js';
import type { DialectName, Harness, TestAccount } from './harness.js';

/** Creating customers and searching them over HTTP, by their emails, as the search tests do. */
export function searchRequests(h: Harness) {
  return {
    async create(acct: TestAccount, json: Record<string, unknown>) {
      const res = await h.request('POST', '/v1/customers', { key: acct.test, json });
      assert.equal(res.status, 200, res.raw);
      return res.body as { id: string; email: string };
    },
    /** The emails a search finds, newest first (up to 100). */
    async search(acct: TestAccount, query: string) {
      const res = await h.request('GET', '/v1/customers/search', {
        key: acct.test,
        query: { query, limit: 100 },
      });
      assert.equal(res.status, 200, res.raw);
      return (res.body.data as { email: string }[]).map((c) => c.email);
    },
  };
}

/** `db` with a reader that records every query it is given (as JSON of its tree) into `asked`. */
export function recordingReads(db: Db): { db: Db; asked: string[] } {
  const asked: string[] = [];
  const recorder: KyselyPlugin = {
    transformQuery: ({ node }) => {
      asked.push(JSON.stringify(node));
      return node;
    },
    transformResult: async ({ result }) => result,
  };
  return { db: { ...db, reader: db.reader.withPlugin(recorder) }, asked };
}

/** What the index and the service do with a query, for the tests of which index a term uses. */
export function searchProbes(h: Harness, dialect: DialectName) {
  return {
    /** The index's candidates for the query's terms, a few of each (up to 100). */
    candidates: (text: string) =>
      indexCandidates(h.db.reader, dialect, indexedTerms(parseSearchQuery(text), dialect), 100, 'few'),
    /** What the statements of one search, run through the service, named. */
    async asked(acct: TestAccount, query: string) {
      const { db, asked } = recordingReads(h.db);
      const auth = { accountId: acct.id, mode: 'test' as const, keyId: acct.testKeyId };
      await searchCustomers({ db, secretBox: h.secretBox }, auth, { query });
      return asked.join('\n');
    },
  };
}
