import { setTimeout as sleep } from 'node:timers/promises';
import Stripe from 'stripe';
import type { Mode } from '../db/schema.js';
import { parseApiBase, type StripeGatewayOptions } from './gateway.js';

/** A customer as read from a connected account, with only what an import uses. */
export interface ListedCustomer {
  id: string;
  email: string | null;
  name: string | null;
  phone: string | null;
  description: string | null;
  metadata: Record<string, string>;
}

/** Reads a connected account's customers, for `stripe import`. */
export interface StripeReader {
  enabled(mode: Mode): boolean;
  /** every live customer of the connected account, newest first, one page held at a time */
  customers(mode: Mode, stripeAccount: string): AsyncIterable<ListedCustomer>;
}

export interface RateLimitBackoff {
  /** first wait after a 429, doubled each time up to `maxMs` (with jitter) */
  baseMs: number;
  maxMs: number;
  /** 429s in a row on one page before the import gives up */
  retries: number;
}

const DEFAULT_BACKOFF: RateLimitBackoff = { baseMs: 1000, maxMs: 32_000, retries: 10 };
const PAGE = 100;

/**
 * An HTTP client for the SDK that waits and asks again when Stripe answers 429, so the SDK's own
 * autopagination can walk a big account without failing halfway. Only reads go through it, so
 * asking again is always safe. (The SDK retries 409 and 5xx itself, but never a 429.)
 */
class RateLimitedHttpClient extends Stripe.HttpClient {
  constructor(
    private readonly inner: InstanceType<typeof Stripe.HttpClient>,
    private readonly backoff: RateLimitBackoff,
    private readonly onWait: (ms: number) => void,
  ) {
    super();
  }

  override getClientName(): string {
    return this.inner.getClientName();
  }

  override async makeRequest(...args: Parameters<InstanceType<typeof Stripe.HttpClient>['makeRequest']>) {
    for (let attempt = 1; ; attempt++) {
      const response = await this.inner.makeRequest(...args);
      if (response.getStatusCode() !== 429 || attempt > this.backoff.retries) return response;
      await response.toJSON().catch(() => undefined);
      const retryAfter = Number(response.getHeaders()['retry-after']);
      const step = Math.min(this.backoff.maxMs, this.backoff.baseMs * 2 ** (attempt - 1));
      const ms =
        Number.isFinite(retryAfter) && retryAfter > 0
          ? retryAfter * 1000
          : step / 2 + (Math.random() * step) / 2;
      this.onWait(ms);
      await sleep(ms);
    }
  }
}

export function createStripeReader(
  opts: StripeGatewayOptions & { backoff?: RateLimitBackoff; onRateLimited?: (waitMs: number) => void },
): StripeReader {
  const base = opts.apiBase ? parseApiBase(opts.apiBase) : {};
  const httpClient = new RateLimitedHttpClient(
    Stripe.createNodeHttpClient(),
    opts.backoff ?? DEFAULT_BACKOFF,
    opts.onRateLimited ?? (() => {}),
  );
  const client = (key: string | undefined) =>
    key
      ? new Stripe(key, { ...base, httpClient, maxNetworkRetries: 2, timeout: opts.timeoutMs ?? 20_000 })
      : null;
  const clients: Record<Mode, Stripe | null> = { test: client(opts.testKey), live: client(opts.liveKey) };

  return {
    enabled: (mode) => clients[mode] !== null,
    async *customers(mode, stripeAccount) {
      const stripe = clients[mode];
      if (!stripe) throw new Error(`no ${mode}-mode platform key configured`);
      // The SDK's autopagination: it fetches the next page only when this one is used up.
      for await (const c of stripe.customers.list({ limit: PAGE }, { stripeAccount })) {
        yield {
          id: c.id,
          email: c.email ?? null,
          name: c.name ?? null,
          phone: c.phone ?? null,
          description: c.description ?? null,
          metadata: { ...(c.metadata ?? {}) },
        };
      }
    },
  };
}
