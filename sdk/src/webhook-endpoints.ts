import type { HttpClient, RequestOptions } from './http.js';
import { ListPromise } from './pagination.js';
import type {
  DeletedWebhookEndpoint,
  WebhookEndpoint,
  WebhookEndpointCreateParams,
  WebhookEndpointList,
  WebhookEndpointListParams,
  WebhookEndpointRollSecretParams,
  WebhookEndpointUpdateParams,
  WebhookEndpointWithSecret,
} from './types.js';

function endpointPath(id: string): string {
  // '', '.' and '..' would turn into another route (the list, or /v1/) once the URL is resolved.
  if (typeof id !== 'string' || id === '' || id === '.' || id === '..') {
    throw new TypeError(
      `A webhook endpoint id must be a non-empty string like 'we_…', got ${JSON.stringify(id)}.`,
    );
  }
  return `/v1/webhook_endpoints/${encodeURIComponent(id)}`;
}

/** `lunipay.webhookEndpoints`: the URLs that receive your events. */
export class WebhookEndpoints {
  readonly #http: HttpClient;

  constructor(http: HttpClient) {
    this.#http = http;
  }

  /**
   * Registers a URL to receive events of the key's mode. The answer holds the signing `secret`,
   * which is never shown again: store it now (verify deliveries with `LuniPay.webhooks.verify`).
   * At most 16 endpoints per account and mode.
   *
   * @example
   * const endpoint = await lunipay.webhookEndpoints.create({
   *   url: 'https://example.com/hooks/lunipay',
   *   enabled_events: ['customer.*'],
   * });
   * saveSecret(endpoint.secret); // 'whsec_…'
   */
  create(params: WebhookEndpointCreateParams, options?: RequestOptions): Promise<WebhookEndpointWithSecret> {
    return this.#http.request<WebhookEndpointWithSecret>(
      { method: 'POST', path: '/v1/webhook_endpoints', body: params },
      options,
    );
  }

  /** Retrieves an endpoint by id (without its secret). */
  async retrieve(id: string, options?: RequestOptions): Promise<WebhookEndpoint> {
    return this.#http.request<WebhookEndpoint>({ method: 'GET', path: endpointPath(id) }, options);
  }

  /**
   * Changes `url`, `enabled_events`, `description` or `metadata` (merged key by key), or
   * disables (`disabled: true`) and enables the endpoint.
   *
   * @example
   * await lunipay.webhookEndpoints.update('we_01JRZK2Q4T9ZS0VCNA3HX7W9EY', { disabled: true });
   */
  async update(
    id: string,
    params: WebhookEndpointUpdateParams,
    options?: RequestOptions,
  ): Promise<WebhookEndpoint> {
    return this.#http.request<WebhookEndpoint>(
      { method: 'PATCH', path: endpointPath(id), body: params },
      options,
    );
  }

  /**
   * Lists endpoints, newest first: `await` it for one page, or `for await` over it for all.
   *
   * @example
   * for await (const endpoint of lunipay.webhookEndpoints.list()) console.log(endpoint.url);
   */
  list(
    params: WebhookEndpointListParams = {},
    options?: RequestOptions,
  ): ListPromise<WebhookEndpoint, WebhookEndpointListParams> {
    return new ListPromise<WebhookEndpoint, WebhookEndpointListParams>(
      (pageParams) =>
        this.#http.request<WebhookEndpointList>(
          { method: 'GET', path: '/v1/webhook_endpoints', query: pageParams },
          options,
        ),
      { ...params },
    );
  }

  /** Deletes an endpoint and its secrets; it receives nothing more. */
  async del(id: string, options?: RequestOptions): Promise<DeletedWebhookEndpoint> {
    return this.#http.request<DeletedWebhookEndpoint>({ method: 'DELETE', path: endpointPath(id) }, options);
  }

  /**
   * Makes a new signing secret, returned here only. The secrets signing until now keep signing
   * beside it for `expires_in` seconds (default 86400; 0 stops them at once), so receivers can
   * switch without missing a delivery.
   *
   * @example
   * const { secret } = await lunipay.webhookEndpoints.rollSecret('we_01JRZK2Q4T9ZS0VCNA3HX7W9EY', { expires_in: 3600 });
   */
  async rollSecret(
    id: string,
    params: WebhookEndpointRollSecretParams = {},
    options?: RequestOptions,
  ): Promise<WebhookEndpointWithSecret> {
    return this.#http.request<WebhookEndpointWithSecret>(
      { method: 'POST', path: `${endpointPath(id)}/roll_secret`, body: params },
      options,
    );
  }
}
