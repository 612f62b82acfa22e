import assert from 'node:assert/strict';
import type { KyselyPlugin } from 'kysely';
import type { Db } from '../../src/db/index.js';
import type { Harness, TestAccount } from './harness.js';

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
