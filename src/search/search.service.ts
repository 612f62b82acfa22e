import type { AuthContext } from '../accounts/keys.js';
import { toCustomer } from '../customers/customers.service.js';
import type { Db } from '../db/index.js';
import { AppError } from '../errors.js';
import type { SecretBox } from '../secret-key.js';
import { openPage, sealPage } from './search.page.js';
import { parseSearchQuery } from './search.query.js';
import type { CustomerSearchResult, SearchCustomersQuery } from './search.schema.js';
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
 * - the trigram index is used when it gives at most INDEX_CAP candidates (counted, no further,
 *   before the search runs): those are fetched by key and sorted, a cost that stays the same
 *   however many customers there are;
 * - otherwise (a term too common, a query the index cannot answer: only negations, null,
 *   metadata or `created`) the search walks the account's customers newest first, testing each,
 *   and stops after WALK_CAP of them. A page may then hold fewer than `limit` customers, or
 *   none, with `has_more: true` and a `next_page` that walks on from where it stopped: every page
 *   costs at most WALK_CAP rows, and walking every page still finds every match.
 */
export const INDEX_CAP = 5000;
export const WALK_CAP = 10_000;
/** PostgreSQL: how long counting the index's candidates may take before the walk is used instead. */
const COUNT_TIMEOUT_MS = 250;

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

  let rows: store.CustomerRow[] | undefined;
  let boundary: string | undefined;
  const email = exactEmail(query);
  if (email !== undefined) rows = await store.run(store.emailQuery(reader, page, email));
  else {
    const index = indexedTerms(query, dialect);
    if (index.terms.length > 0) {
      const count = await store.countIndexed(reader, dialect, index, INDEX_CAP, COUNT_TIMEOUT_MS);
      if (count !== undefined && count <= INDEX_CAP)
        rows = await store.run(store.indexedQuery(reader, dialect, page, index));
    }
  }
  if (rows === undefined) {
    boundary = await store.walkBoundary(reader, page, WALK_CAP);
    rows = await store.run(store.walkQuery(reader, page, boundary));
  }

  let next: string | undefined;
  const shown = rows.slice(0, limit);
  if (rows.length > limit) next = shown[shown.length - 1]?.id;
  else if (boundary !== undefined && (await store.hasOlder(reader, owner, boundary))) next = boundary;
  return {
    object: 'search_result',
    url: '/v1/customers/search',
    has_more: next !== undefined,
    next_page: next === undefined ? null : sealPage(deps.secretBox, owner, text, next),
    data: shown.map(toCustomer),
  };
}
