import { AppError } from '../errors.js';
import type { SecretBox } from '../secret-key.js';
import type { Owner } from './search.store.js';

// The `page` token: where the next page starts, sealed (AES-256-GCM, secret-key.ts) with the
// account, mode and query text bound in as associated data. It is opaque (a client cannot read
// or steer the cursor), tamper-evident (any change fails to open), and opens only for the query,
// account and mode it was made for.

const context = (owner: Owner, query: string) =>
  `customers.search\u0000${owner.accountId}\u0000${owner.mode}\u0000${query}`;

export function sealPage(box: SecretBox, owner: Owner, query: string, before: string): string {
  return box.seal(JSON.stringify({ before }), context(owner, query));
}

export function openPage(box: SecretBox, owner: Owner, query: string, page: string): string {
  try {
    const { before } = JSON.parse(box.open(page, context(owner, query))) as { before?: unknown };
    if (typeof before === 'string') return before;
  } catch {}
  throw new AppError(
    'parameter_invalid',
    'Invalid page: it is not a next_page this server returned for this query; pass the next_page of the previous page with the same query.',
    'page',
  );
}
