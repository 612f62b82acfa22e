import type { AuthContext } from '../accounts/keys.js';
import { toCustomer } from '../customers/customers.service.js';
import type { Db } from '../db/index.js';
import { AppError } from '../errors.js';
import type { SecretBox } from '../secret-key.js';
import { openPage, sealPage } from './search.page.js';
import { parseSearchQuery } from './search.query.js';
import type { CustomerSearchResult, SearchCustomersQuery } from './search.schema.js';
import { shareOf } from './search.shares.js';
import { exactEmail, indexedTerms, queryPredicate } from './search.sql.js';
import * as store from './search.store.js';

export interface SearchDeps {
  db: Db;
  /** Seals the `page` tokens. */
  secretBox: SecretBox;
}

/**
 * The bounds that keep one search from stalling the others (SQLite answers one query at a time
 * in the process; PostgreSQL's connections are few):
 * - the trigram index is used when it gives at most INDEX_CAP candidates (it is read no further
 *   than one more): those are looked up by key and sorted, a cost that depends on the matches,
 *   not on how many customers there are. It is asked about a few trigrams of each term first
 *   (search.sql.ts, `sampledTrigrams`), and about the whole terms when those leave too many;
 * - otherwise (a term too common, a query the index cannot answer: only negations, null,
 *   metadata or `created`) the search walks the account's customers newest first, testing each,
 *   and stops after WALK_CAP of them. A page may then hold fewer than `limit` customers, or
 *   none, with `has_more: true` and a `next_page` that walks on from where it stopped: every page
 *   costs at most WALK_CAP rows, and walking every page still finds every match.
 */
export const INDEX_CAP = 5000;
export const WALK_CAP = 10_000;
/**
 * PostgreSQL: how long any one of a search's statements may run. Counting the index's
 * candidates for a term that nearly every customer has is the one that can take long; it then
 * gives way to the walk.
 */
const STATEMENT_TIMEOUT_MS = 500;

export async function searchCustomers(
  deps: SearchDeps,
  auth: AuthContext,
  params: SearchCustomersQuery,
): Promise<CustomerSearchResult> {
  const text = params.query ?? '';
  if (text.trim() === '') throw new AppError('parameter_missing', 'Missing required param: query.', 'query');
  const query = parseSearchQuery(text);
  const owner = { accountId: auth.accountId, mode: auth.mode };
  const limit = params.limit ?? 10;
  const before = params.page === undefined ? undefined : openPage(deps.secretBox, owner, text, params.page);
  const { reader, dialect } = deps.db;
  const page: store.SearchPage = { owner, before, limit, predicate: queryPredicate(query, dialect) };

  // The plan: an exact email by its index; else the trigram index when it narrows enough; else
  // the bounded walk. Candidates the statement timeout stopped mean "too many": walk instead.
  const find = (useIndex: boolean) =>
    store.inSearchSession(reader, dialect, STATEMENT_TIMEOUT_MS, async (q) => {
      const email = exactEmail(query);
      if (email !== undefined) return { rows: await store.run(store.emailQuery(q, page, email)) };
      const index = indexedTerms(query, dialect);
      if (useIndex && index.terms.length > 0) {
        // A few trigrams of each term first; the whole terms when those leave too many.
        let keys = await store.indexCandidates(q, dialect, index, INDEX_CAP, 'few', shareOf(deps.db));
        if (keys.length > INDEX_CAP) keys = await store.indexCandidates(q, dialect, index, INDEX_CAP, 'all');
        if (keys.length <= INDEX_CAP) {
          return {
            rows:
              keys.length === 0 ? [] : await store.run(store.candidateSearchQuery(q, dialect, page, keys)),
          };
        }
      }
      const boundary = await store.walkBoundary(q, page, WALK_CAP);
      const rows = await store.run(store.walkQuery(q, page, boundary));
      const older =
        boundary !== undefined && rows.length <= limit && (await store.hasOlder(q, owner, boundary));
      return { rows, boundary: older ? boundary : undefined };
    });
  const { rows, boundary } = await find(true).catch((error: unknown) => {
    if (store.isCanceled(error)) return find(false);
    throw error;
  });

  let next: string | undefined;
  const shown = rows.slice(0, limit);
  if (rows.length > limit) next = shown[shown.length - 1]?.id;
  else if (boundary !== undefined) next = boundary;
  return {
    object: 'search_result',
    url: '/v1/customers/search',
    has_more: next !== undefined,
    next_page: next === undefined ? null : sealPage(deps.secretBox, owner, text, next),
    data: shown.map(toCustomer),
  };
}
