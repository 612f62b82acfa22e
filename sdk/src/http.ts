import {
  APIError,
  ConnectionError,
  errorFromResponse,
  type LuniPayError,
  parseRetryAfterSeconds,
  TimeoutError,
} from './errors.js';

/**
 * The part of `fetch` the SDK uses. The global `fetch` of Node 20 and of browsers fits it, and so
 * does any polyfill or test double (`undici`'s, `node-fetch`, a `msw`-patched one…).
 */
export type FetchLike = (
  url: string,
  init: {
    method: string;
    headers: Record<string, string>;
    body?: string;
    signal: AbortSignal;
  },
) => Promise<ResponseLike>;

/** The part of a `fetch` `Response` the SDK reads. */
export interface ResponseLike {
  status: number;
  headers: {
    get(name: string): string | null;
    forEach(callback: (value: string, key: string) => void): void;
  };
  text(): Promise<string>;
  /** The body as it arrives; read by `stream()` (the export). `fetch`'s Response has it. */
  body?: {
    getReader(): {
      read(): Promise<{ done: boolean; value?: Uint8Array }>;
      cancel(reason?: unknown): Promise<void>;
    };
  } | null;
}

/** Options for one call; every method takes them as its last argument. */
export interface RequestOptions {
  /**
   * `Idempotency-Key` for a write (POST/PATCH/DELETE). By default each call gets a fresh random
   * UUID, reused for all of that call's retries. Pass your own to make a call safe to repeat
   * across process restarts (for example a key derived from your order id).
   */
  idempotencyKey?: string;
  /** Overrides the client's `timeoutMs` for this call (per attempt). */
  timeoutMs?: number;
  /** Overrides the client's `maxRetries` for this call. */
  maxRetries?: number;
  /** Aborts the call (and its retries). The promise then rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** The client's settings, with defaults filled in. */
export interface HttpSettings {
  apiKey: string;
  baseUrl: string;
  timeoutMs: number;
  maxRetries: number;
  retryDelayMs: number;
  maxRetryDelayMs: number;
  maxRetryAfterMs: number;
  fetch: FetchLike;
}

export interface ApiRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Path below the base URL, starting with `/v1/`. */
  path: string;
  query?: Record<string, unknown> | undefined;
  body?: unknown;
}

const RETRYABLE_STATUS = (status: number): boolean => status === 409 || status === 429 || status >= 500;

/** A random version-4 UUID, from Web Crypto (Node 20 and browsers). */
export function uuid4(): string {
  const c = (globalThis as { crypto?: Crypto }).crypto;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID();
  // randomUUID is missing in browsers' insecure (plain http) contexts; getRandomValues is not.
  const bytes = new Uint8Array(16);
  if (c && typeof c.getRandomValues === 'function') c.getRandomValues(bytes);
  else for (let i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Serialises query parameters the way the API reads them: `created[gt]=1`, arrays as `key[]=…`.
 * `undefined` and `null` are left out.
 */
export function encodeQuery(query: Record<string, unknown> | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  const add = (key: string, value: unknown): void => {
    if (value === undefined || value === null) return;
    if (Array.isArray(value)) {
      for (const item of value) add(`${key}[]`, item);
    } else if (typeof value === 'object') {
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) add(`${key}[${k}]`, v);
    } else {
      params.append(key, String(value));
    }
  };
  for (const [key, value] of Object.entries(query)) add(key, value);
  const encoded = params.toString();
  return encoded ? `?${encoded}` : '';
}

/**
 * How long to wait before retry number `retry` (1-based): exponential backoff from
 * `retryDelayMs`, capped at `maxRetryDelayMs`, with "equal jitter" (a random point in the upper
 * half), so many clients that failed together do not come back together.
 */
export function backoffDelayMs(
  retry: number,
  settings: Pick<HttpSettings, 'retryDelayMs' | 'maxRetryDelayMs'>,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(settings.maxRetryDelayMs, settings.retryDelayMs * 2 ** (retry - 1));
  return ceiling / 2 + random() * (ceiling / 2);
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function headersToRecord(headers: ResponseLike['headers']): Record<string, string> {
  const record: Record<string, string> = {};
  headers.forEach((value, key) => {
    record[key.toLowerCase()] = value;
  });
  return record;
}

type Attempt =
  | { kind: 'response'; status: number; headers: Record<string, string>; text: string }
  | { kind: 'network'; error: LuniPayError };

/** Sends API requests: auth, JSON, idempotency keys, timeouts and retries. */
export class HttpClient {
  constructor(readonly settings: HttpSettings) {}

  /** Sends one logical request (retrying as needed) and returns the parsed JSON body. */
  async request<T>(req: ApiRequest, options: RequestOptions = {}): Promise<T> {
    const s = this.settings;
    const maxRetries = options.maxRetries ?? s.maxRetries;
    const timeoutMs = options.timeoutMs ?? s.timeoutMs;
    const url = `${s.baseUrl}${req.path}${encodeQuery(req.query)}`;
    const headers: Record<string, string> = {
      Authorization: `Bearer ${s.apiKey}`,
      Accept: 'application/json',
    };
    let body: string | undefined;
    if (req.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(req.body);
    }
    if (req.method !== 'GET') {
      // One key per logical call, the same on every retry: the server replays instead of redoing.
      headers['Idempotency-Key'] = options.idempotencyKey ?? uuid4();
    }

    for (let attempt = 0; ; attempt++) {
      const result = await this.attempt(url, req.method, headers, body, timeoutMs, options.signal);
      const retriesLeft = attempt < maxRetries;

      if (result.kind === 'network') {
        if (!retriesLeft) throw result.error;
        await sleep(backoffDelayMs(attempt + 1, s), options.signal);
        continue;
      }

      const { status, headers: resHeaders, text } = result;
      if (status >= 200 && status < 300) {
        try {
          return JSON.parse(text) as T;
        } catch (cause) {
          throw new APIError({
            message: `The LuniPay API answered ${status} with a body that is not JSON.`,
            code: 'invalid_response',
            status,
            requestId: resHeaders['request-id'],
            headers: resHeaders,
            raw: text,
            cause,
          });
        }
      }

      let parsed: unknown;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      const error = errorFromResponse(status, parsed, resHeaders, text);
      if (!retriesLeft || !RETRYABLE_STATUS(status)) throw error;

      let delay = backoffDelayMs(attempt + 1, s);
      const retryAfter = parseRetryAfterSeconds(resHeaders['retry-after']);
      if (retryAfter !== undefined) {
        // Honour the server's wish, unless it asks for longer than we are willing to block.
        if (retryAfter * 1000 > s.maxRetryAfterMs) throw error;
        delay = retryAfter * 1000;
      }
      await sleep(delay, options.signal);
    }
  }

  /**
   * A GET whose body is read as it arrives (the export). Retried like `request` until an answer
   * starts; the timeout covers the wait for its headers only, since a large body takes as long
   * as it takes. An error answer is read whole and thrown as its error class.
   */
  async stream(req: ApiRequest, options: RequestOptions = {}): Promise<AsyncIterable<Uint8Array>> {
    const s = this.settings;
    const maxRetries = options.maxRetries ?? s.maxRetries;
    const timeoutMs = options.timeoutMs ?? s.timeoutMs;
    const url = `${s.baseUrl}${req.path}${encodeQuery(req.query)}`;
    const headers = { Authorization: `Bearer ${s.apiKey}`, Accept: 'application/x-ndjson' };
    for (let attempt = 0; ; attempt++) {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), timeoutMs);
      const onUserAbort = (): void => controller.abort(options.signal?.reason);
      options.signal?.addEventListener('abort', onUserAbort, { once: true });
      let response: ResponseLike;
      try {
        response = await s.fetch(url, { method: req.method, headers, signal: controller.signal });
      } catch (cause) {
        clearTimeout(timer);
        if (options.signal?.aborted) throw options.signal.reason;
        const error = new ConnectionError({
          message: `Could not reach the LuniPay API (${req.method} ${url}): ${cause instanceof Error ? describeNetworkError(cause) : String(cause)}`,
          type: 'connection_error',
          code: 'connection_failed',
          cause,
        });
        if (attempt >= maxRetries) throw error;
        await sleep(backoffDelayMs(attempt + 1, s), options.signal);
        continue;
      }
      clearTimeout(timer);
      if (response.status >= 200 && response.status < 300 && response.body) {
        const reader = response.body.getReader();
        return {
          async *[Symbol.asyncIterator]() {
            try {
              for (;;) {
                const { done, value } = await reader.read();
                if (done) return;
                if (value) yield value;
              }
            } finally {
              // Stopped early (a `break`): the rest of the export is not downloaded.
              await reader.cancel().catch(() => {});
            }
          },
        };
      }
      const text = await response.text();
      let parsed: unknown;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      const error = errorFromResponse(response.status, parsed, headersToRecord(response.headers), text);
      if (attempt >= maxRetries || !RETRYABLE_STATUS(response.status)) throw error;
      await sleep(backoffDelayMs(attempt + 1, s), options.signal);
    }
  }

  /** One HTTP exchange, with its own timeout. Never throws for network trouble: returns it. */
  private async attempt(
    url: string,
    method: string,
    headers: Record<string, string>,
    body: string | undefined,
    timeoutMs: number,
    userSignal: AbortSignal | undefined,
  ): Promise<Attempt> {
    if (userSignal?.aborted) throw userSignal.reason;
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const onUserAbort = (): void => controller.abort(userSignal?.reason);
    userSignal?.addEventListener('abort', onUserAbort, { once: true });
    try {
      const init: Parameters<FetchLike>[1] = { method, headers, signal: controller.signal };
      if (body !== undefined) init.body = body;
      // Called as a plain function: a `window.fetch` given as an option must not get `this`.
      const fetchFn = this.settings.fetch;
      const response = await fetchFn(url, init);
      // The timeout covers reading the body too.
      const text = await response.text();
      return { kind: 'response', status: response.status, headers: headersToRecord(response.headers), text };
    } catch (cause) {
      if (userSignal?.aborted) throw userSignal.reason;
      if (timedOut) {
        return {
          kind: 'network',
          error: new TimeoutError({
            message: `No answer from the LuniPay API within ${timeoutMs} ms (${method} ${url}).`,
            type: 'connection_error',
            code: 'timeout',
            cause,
          }),
        };
      }
      const detail = cause instanceof Error ? describeNetworkError(cause) : String(cause);
      return {
        kind: 'network',
        error: new ConnectionError({
          message: `Could not reach the LuniPay API (${method} ${url}): ${detail}`,
          type: 'connection_error',
          code: 'connection_failed',
          cause,
        }),
      };
    } finally {
      clearTimeout(timer);
      userSignal?.removeEventListener('abort', onUserAbort);
    }
  }
}

/** Node's fetch says only "fetch failed"; the useful part (ECONNREFUSED…) is in `cause`. */
function describeNetworkError(error: Error): string {
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return `${error.message} (${typeof code === 'string' ? `${code}: ` : ''}${cause.message})`;
  }
  return error.message;
}
