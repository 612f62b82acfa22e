import { Customers } from './customers.js';
import { Events } from './events.js';
import { type FetchLike, HttpClient, type HttpSettings } from './http.js';
import { PortalSessions } from './portal-sessions.js';
import { WebhookEndpoints } from './webhook-endpoints.js';
import { webhooks } from './webhooks.js';

/** Options of `new LuniPay(key, options)`. All optional. */
export interface LuniPayOptions {
  /**
   * Where the LuniPay API is: scheme, host, port and any path prefix, without `/v1`
   * (a trailing `/v1` or `/` is tolerated). Default `http://127.0.0.1:4242`, where `npm start`
   * serves it.
   */
  baseUrl?: string;
  /** Time allowed for each attempt (connecting, waiting and reading the body), in ms. Default 30 000. */
  timeoutMs?: number;
  /**
   * How many times a failed request is retried: after network errors, timeouts, 409, 429
   * (waiting as long as `Retry-After` says) and 5xx. Default 2, so at most 3 attempts. `0` turns
   * retries off.
   */
  maxRetries?: number;
  /** The `fetch` to use. Default: the global one (Node 20+, browsers, Deno, Bun, workers). */
  fetch?: FetchLike;
  /** First backoff delay in ms; doubles on each retry, with jitter. Default 500. */
  retryDelayMs?: number;
  /** Longest backoff delay in ms. Default 5 000. */
  maxRetryDelayMs?: number;
  /**
   * Longest `Retry-After` the SDK will wait out, in ms. A 429 that asks for more is thrown at
   * once as a `RateLimitError` (with `retryAfter`) rather than blocking the call. Default 60 000.
   */
  maxRetryAfterMs?: number;
}

export const DEFAULT_BASE_URL = 'http://127.0.0.1:4242';

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`LuniPay option ${name} must be a finite number >= 0, got ${String(value)}.`);
  }
  return value;
}

function normaliseBaseUrl(baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new TypeError(
      `LuniPay option baseUrl must be an absolute http(s) URL, got ${JSON.stringify(baseUrl)}.`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`LuniPay option baseUrl must be an http(s) URL, got ${JSON.stringify(baseUrl)}.`);
  }
  if (url.search || url.hash) {
    throw new TypeError(
      `LuniPay option baseUrl must not have a query or fragment, got ${JSON.stringify(baseUrl)}.`,
    );
  }
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '').replace(/\/v1$/, '');
}

/**
 * The LuniPay API client.
 *
 * @example
 * import { LuniPay } from '@lunipay/sdk';
 *
 * const lunipay = new LuniPay(process.env.LUNIPAY_API_KEY!, { baseUrl: 'http://127.0.0.1:4242' });
 * const customer = await lunipay.customers.create({ email: 'ada@example.com' });
 */
export class LuniPay {
  /**
   * Verifying webhook deliveries, with no client needed: `LuniPay.webhooks.verify(rawBody,
   * headers, secret)`, and `generateTestHeaders` for tests.
   */
  static readonly webhooks = webhooks;
  /** The same as `LuniPay.webhooks`, from an instance. */
  readonly webhooks = webhooks;
  /** Customers: `create`, `retrieve`, `update`, `list`, `del`. */
  readonly customers: Customers;
  /** Events: `retrieve`, `list`, and `feed`, every event in commit order. */
  readonly events: Events;
  readonly portalSessions: PortalSessions;
  /** Webhook endpoints: `create`, `retrieve`, `update`, `list`, `del`, `rollSecret`. */
  readonly webhookEndpoints: WebhookEndpoints;
  /** The resolved base URL (without `/v1`). */
  readonly baseUrl: string;

  /**
   * @param apiKey A secret key, `sk_test_…` or `sk_live_…`. Keep it on your server: a secret key
   *   in a browser bundle is readable by anyone.
   * @param options See {@link LuniPayOptions}.
   *
   * @example
   * const lunipay = new LuniPay('sk_test_…', { baseUrl: 'https://api.example.com', timeoutMs: 10_000, maxRetries: 3 });
   */
  constructor(apiKey: string, options: LuniPayOptions = {}) {
    if (typeof apiKey !== 'string' || apiKey.trim() === '') {
      throw new TypeError('new LuniPay(apiKey): apiKey must be a non-empty string (sk_test_… or sk_live_…).');
    }
    if (/\s/.test(apiKey)) {
      throw new TypeError('new LuniPay(apiKey): apiKey must not contain whitespace.');
    }
    const globalFetch = (globalThis as { fetch?: FetchLike }).fetch;
    const userFetch = options.fetch;
    if (userFetch === undefined && typeof globalFetch !== 'function') {
      throw new TypeError('No global fetch: pass one as new LuniPay(key, { fetch }).');
    }
    this.baseUrl = normaliseBaseUrl(options.baseUrl ?? DEFAULT_BASE_URL);
    const maxRetries = nonNegative('maxRetries', options.maxRetries, 2);
    if (!Number.isInteger(maxRetries)) throw new TypeError('LuniPay option maxRetries must be an integer.');
    const settings: HttpSettings = {
      apiKey,
      baseUrl: this.baseUrl,
      timeoutMs: nonNegative('timeoutMs', options.timeoutMs, 30_000),
      maxRetries,
      retryDelayMs: nonNegative('retryDelayMs', options.retryDelayMs, 500),
      maxRetryDelayMs: nonNegative('maxRetryDelayMs', options.maxRetryDelayMs, 5_000),
      maxRetryAfterMs: nonNegative('maxRetryAfterMs', options.maxRetryAfterMs, 60_000),
      // Looked up on each call (so a fetch patched later, e.g. by a test tool, is used) and called
      // on globalThis: a `fetch` called with another `this` throws "Illegal invocation" in browsers.
      fetch: userFetch ?? ((url, init) => (globalThis as unknown as { fetch: FetchLike }).fetch(url, init)),
    };
    const http = new HttpClient(settings);
    this.customers = new Customers(http);
    this.events = new Events(http);
    this.portalSessions = new PortalSessions(http);
    this.webhookEndpoints = new WebhookEndpoints(http);
  }
}
