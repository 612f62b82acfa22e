/**
 * Fixed answers in the API's shapes, behind the fault server, for the tests of what the client
 * itself does: the requests it makes, its retries, timeouts, cancellation and errors. Nothing is
 * stored or checked here. What the server does with the requests (validation, idempotency,
 * pagination) is tested against the real server, in the repository's test/sdk/ (run by the
 * root's `npm test`).
 *
 *   POST /v1/customers                  → a customer made of the body sent, id NEW_ID
 *   GET|PATCH|POST /v1/customers/:id    → a customer with that id (and the body sent)
 *   DELETE /v1/customers/:id            → the deleted object
 *   GET /v1/customers                   → PAGES[0] (has_more), or PAGES[1] with starting_after
 *   MISSING_ID, any other route         → 404
 */
import { FaultyServer, type StubRequest, type StubResponse, sleep } from './fault-server.js';

export const NEW_ID = 'cus_01JSNEW0000000000000000000';
/** The one customer that does not exist. */
export const MISSING_ID = 'cus_01JRZK2Q4T9ZS0VCNA3HX7W9EY';

export function customer(id: string, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    object: 'customer',
    livemode: false,
    email: 'canned@example.com',
    first_name: '',
    last_name: '',
    phone: null,
    company_name: null,
    notes: null,
    metadata: null,
    stripe_customer_id: null,
    created: 1713100800,
    updated: 1713100800,
    ...fields,
  };
}

/** The list, newest first, in two pages. */
export const LISTED = [
  'cus_01JS0000000000000000000003',
  'cus_01JS0000000000000000000002',
  'cus_01JS0000000000000000000001',
];
const page = (ids: string[], hasMore: boolean) => ({
  object: 'list',
  url: '/v1/customers',
  has_more: hasMore,
  data: ids.map((id) => customer(id)),
});
export const PAGES = [page(LISTED.slice(0, 2), true), page(LISTED.slice(2), false)];

const ok = (body: unknown): StubResponse => ({ status: 200, headers: { 'request-id': 'req_canned' }, body });
const missing = (message: string, param?: string): StubResponse => ({
  status: 404,
  headers: { 'request-id': 'req_canned' },
  body: {
    error: { type: 'invalid_request_error', code: 'resource_missing', message, ...(param ? { param } : {}) },
  },
});

async function answer(req: StubRequest, ctx: { delayMs: number }): Promise<StubResponse> {
  if (ctx.delayMs) await sleep(ctx.delayMs);
  const sent = req.body === '' ? {} : (JSON.parse(req.body) as Record<string, unknown>);
  const path = req.url.pathname;
  if (path === '/v1/customers') {
    if (req.method === 'POST') return ok(customer(NEW_ID, sent));
    if (req.method === 'GET') return ok(req.url.searchParams.has('starting_after') ? PAGES[1] : PAGES[0]);
  }
  const id = /^\/v1\/customers\/([^/]+)$/.exec(path)?.[1];
  if (id === undefined) return missing(`Unrecognized request URL (${req.method}: ${path}).`);
  if (decodeURIComponent(id) === MISSING_ID) return missing(`No such customer: '${MISSING_ID}'`, 'id');
  if (req.method === 'DELETE') return ok({ id, object: 'customer', deleted: true });
  return ok(customer(id, req.method === 'GET' ? {} : sent));
}

export function startCanned(): Promise<FaultyServer> {
  return FaultyServer.start(answer);
}
