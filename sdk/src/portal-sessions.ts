import type { HttpClient, RequestOptions } from './http.js';
import { ListPromise } from './pagination.js';
import type {
  PortalSession,
  PortalSessionCreateParams,
  PortalSessionList,
  PortalSessionListParams,
  PortalSessionWithUrl,
} from './types.js';

function sessionPath(id: string): string {
  // '', '.' and '..' would turn into another route (the list, or /v1/) once the URL is resolved.
  if (typeof id !== 'string' || id === '' || id === '.' || id === '..') {
    throw new TypeError(
      `A portal session id must be a non-empty string like 'ps_…', got ${JSON.stringify(id)}.`,
    );
  }
  return `/v1/portal_sessions/${encodeURIComponent(id)}`;
}

/** `lunipay.portalSessions`: links that sign one of your customers into the customer portal. */
export class PortalSessions {
  readonly #http: HttpClient;

  constructor(http: HttpClient) {
    this.#http = http;
  }

  /**
   * Makes a link into the portal for one customer. Redirect the customer's browser to `url`,
   * which is shown only in this answer and opens once, before `expires_at`.
   *
   * @example
   * const session = await lunipay.portalSessions.create({
   *   customer: 'cus_…',
   *   return_url: 'https://shop.example/account',
   * });
   * redirect(session.url);
   */
  create(params: PortalSessionCreateParams, options?: RequestOptions): Promise<PortalSessionWithUrl> {
    return this.#http.request<PortalSessionWithUrl>(
      { method: 'POST', path: '/v1/portal_sessions', body: params },
      options,
    );
  }

  /** Retrieves a portal session by id, with its `status` (never its `url`). */
  async retrieve(id: string, options?: RequestOptions): Promise<PortalSession> {
    return this.#http.request<PortalSession>({ method: 'GET', path: sessionPath(id) }, options);
  }

  /**
   * Lists one customer's portal sessions, newest first, those made here and those the customer
   * started by signing in with their email: `await` it for one page, or `for await` for all.
   */
  list(
    params: PortalSessionListParams,
    options?: RequestOptions,
  ): ListPromise<PortalSession, PortalSessionListParams> {
    return new ListPromise<PortalSession, PortalSessionListParams>(
      (pageParams) =>
        this.#http.request<PortalSessionList>(
          { method: 'GET', path: '/v1/portal_sessions', query: pageParams },
          options,
        ),
      { ...params },
    );
  }

  /** Revokes a session: its link stops working and its browser session ends at its next request. */
  async revoke(id: string, options?: RequestOptions): Promise<PortalSession> {
    return this.#http.request<PortalSession>({ method: 'POST', path: `${sessionPath(id)}/revoke` }, options);
  }
}
