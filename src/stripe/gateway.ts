import Stripe from 'stripe';
import type { Mode } from '../db/schema.js';

/** The metadata key that ties a Stripe customer back to its LuniPay customer. */
export const LUNIPAY_ID_KEY = 'lunipay_customer_id';

export interface StripeCustomerFields {
  email: string;
  name: string | null;
  phone: string | null;
  metadata: Record<string, string>;
}

export interface StripeCustomerUpdate extends StripeCustomerFields {
  /**
   * Metadata keys to remove from the Stripe customer. Stripe merges metadata on update, so a key
   * LuniPay no longer has survives in Stripe unless it is sent as ''. The gateway does not read the
   * customer first to find such keys: that would cost a call, race with other writers and wipe keys
   * the merchant set in Stripe themselves. The caller knows what it sent before (see
   * `removedMetadataKeys`). A key present in `metadata` wins over the same key listed here.
   */
  unsetMetadataKeys?: readonly string[];
}

export interface StripeGateway {
  /** true when the platform key for that mode is configured */
  enabled(mode: Mode): boolean;
  createCustomer(
    mode: Mode,
    stripeAccount: string,
    fields: StripeCustomerFields,
    idempotencyKey: string,
  ): Promise<{ id: string }>;
  updateCustomer(
    mode: Mode,
    stripeAccount: string,
    stripeCustomerId: string,
    fields: StripeCustomerUpdate,
    idempotencyKey: string,
  ): Promise<void>;
  /** deleting a customer Stripe already deleted (404 resource_missing) counts as success */
  deleteCustomer(
    mode: Mode,
    stripeAccount: string,
    stripeCustomerId: string,
    idempotencyKey: string,
  ): Promise<void>;
  /**
   * The live customer created in `created` (unix seconds, inclusive) whose metadata
   * `LUNIPAY_ID_KEY` is `lunipayCustomerId`, or null. Stripe's Search API is not available on
   * connected accounts, so this pages through the list filtered by creation time: the caller
   * keeps the window to when it may have created one.
   */
  findCustomer(
    mode: Mode,
    stripeAccount: string,
    lunipayCustomerId: string,
    created: { gte: number; lte: number },
  ): Promise<{ id: string; metadataKeys: string[] } | null>;
}

/** As `loadConfig` checked them (config.ts): each key of its own mode, the API base an origin. */
export interface StripeGatewayOptions {
  /** platform key for live-mode customers; unset or '' disables live provisioning */
  liveKey?: string | undefined;
  /** platform key for test-mode customers; unset or '' disables test provisioning */
  testKey?: string | undefined;
  /** e.g. `http://127.0.0.1:12111`; unset means Stripe's real API */
  apiBase?: string | undefined;
  timeoutMs?: number;
}

/**
 * A failed Stripe call, classified for the job queue. The message is built only from the
 * operation, mode, status and Stripe's error type/code/request id: Stripe's own messages can echo
 * request values (an invalid email, say), so they are never copied in, and neither is the key.
 */
export class StripeCallError extends Error {
  override readonly name = 'StripeCallError';
  readonly retryable: boolean;
  /** HTTP status, or null when no response arrived (network error, timeout) */
  readonly status: number | null;
  /** Stripe's error code, e.g. `resource_missing`, when it sent one */
  readonly code: string | null;
  /** Stripe's error type, e.g. `invalid_request_error`, `idempotency_error` */
  readonly type: string | null;
  /** Stripe's request id (`req_…`), for looking the call up in the Stripe dashboard */
  readonly requestId: string | null;
  /**
   * Stripe answered with what it had stored under the idempotency key (`Idempotent-Replayed:
   * true`): the outcome of an earlier request with that key, final, which every retry with the
   * key gets again. A fresh answer (a 500 in an incident, most often) was not stored.
   */
  readonly replayed: boolean;

  constructor(
    message: string,
    info: {
      retryable: boolean;
      status: number | null;
      code: string | null;
      type?: string | null;
      requestId?: string | null;
      replayed?: boolean;
    },
  ) {
    super(message);
    this.retryable = info.retryable;
    this.status = info.status;
    this.code = info.code;
    this.type = info.type ?? null;
    this.requestId = info.requestId ?? null;
    this.replayed = info.replayed ?? false;
  }
}

const DEFAULT_TIMEOUT_MS = 20_000;
/** 100 customers a page: a window with more than this many customers is left to a person. */
const LOOKUP_MAX_PAGES = 50;

/** Keys in `previous` that `next` no longer has: what to pass as `unsetMetadataKeys`. */
export function removedMetadataKeys(
  previous: Record<string, string>,
  next: Record<string, string>,
): string[] {
  return Object.keys(previous).filter((key) => !Object.hasOwn(next, key));
}

export function createStripeGateway(opts: StripeGatewayOptions): StripeGateway {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const base = opts.apiBase ? parseApiBase(opts.apiBase) : {};
  const clients: Record<Mode, Stripe | null> = {
    test: opts.testKey ? newClient(opts.testKey) : null,
    live: opts.liveKey ? newClient(opts.liveKey) : null,
  };

  function newClient(key: string): Stripe {
    return new Stripe(key, {
      ...base,
      // The durable job queue owns retries, with backoff and a dead state; SDK retries would hide
      // attempts from it. (The SDK still retries once on a connection reset, which the idempotency
      // key makes safe.)
      maxNetworkRetries: 0,
      timeout: timeoutMs,
      typescript: true,
    });
  }

  async function call<T>(op: string, mode: Mode, fn: (stripe: Stripe) => Promise<T>): Promise<T> {
    const stripe = clients[mode];
    if (!stripe) {
      throw new StripeCallError(`Stripe ${op} (${mode} mode): no ${mode}-mode platform key configured`, {
        retryable: false,
        status: null,
        code: 'mode_not_configured',
      });
    }
    try {
      return await fn(stripe);
    } catch (err) {
      if (err instanceof StripeCallError) throw err;
      throw toStripeCallError(op, mode, timeoutMs, err);
    }
  }

  return {
    enabled: (mode) => clients[mode] !== null,

    createCustomer: (mode, stripeAccount, fields, idempotencyKey) =>
      call('customers.create', mode, async (stripe) => {
        // Omitted rather than '' so a new customer has no name/phone at all.
        const params: Stripe.CustomerCreateParams = { email: fields.email, metadata: { ...fields.metadata } };
        if (fields.name !== null) params.name = fields.name;
        if (fields.phone !== null) params.phone = fields.phone;
        const customer = await stripe.customers.create(params, { stripeAccount, idempotencyKey });
        return { id: customer.id };
      }),

    updateCustomer: (mode, stripeAccount, stripeCustomerId, fields, idempotencyKey) =>
      call('customers.update', mode, async (stripe) => {
        const metadata: Record<string, string> = {};
        for (const key of fields.unsetMetadataKeys ?? []) metadata[key] = '';
        Object.assign(metadata, fields.metadata);
        // '' is how Stripe clears a field on update.
        const params: Stripe.CustomerUpdateParams = {
          email: fields.email,
          name: fields.name ?? '',
          phone: fields.phone ?? '',
          metadata,
        };
        await stripe.customers.update(stripeCustomerId, params, { stripeAccount, idempotencyKey });
      }),

    deleteCustomer: (mode, stripeAccount, stripeCustomerId, idempotencyKey) =>
      call('customers.del', mode, async (stripe) => {
        try {
          // The empty params object matters: `del(id, { stripeAccount })` would take the options as
          // params and send the call to the platform account instead of the connected one.
          await stripe.customers.del(stripeCustomerId, {}, { stripeAccount, idempotencyKey });
        } catch (err) {
          if (
            err instanceof Stripe.errors.StripeError &&
            err.statusCode === 404 &&
            err.code === 'resource_missing'
          ) {
            return;
          }
          throw err;
        }
      }),

    findCustomer: (mode, stripeAccount, lunipayCustomerId, created) =>
      call('customers.list', mode, async (stripe) => {
        let startingAfter: string | undefined;
        for (let page = 0; page < LOOKUP_MAX_PAGES; page++) {
          const params: Stripe.CustomerListParams = { created, limit: 100 };
          if (startingAfter !== undefined) params.starting_after = startingAfter;
          const list = await stripe.customers.list(params, { stripeAccount });
          const hit = list.data.find((c) => c.metadata?.[LUNIPAY_ID_KEY] === lunipayCustomerId);
          if (hit) return { id: hit.id, metadataKeys: Object.keys(hit.metadata ?? {}) };
          const last = list.data.at(-1);
          if (!list.has_more || !last) return null;
          startingAfter = last.id;
        }
        throw new StripeCallError(
          `Stripe customers.list (${mode} mode): more than ${LOOKUP_MAX_PAGES * 100} customers in the window`,
          { retryable: false, status: null, code: 'lookup_window_too_large' },
        );
      }),
  };
}

/** The SDK's host, port and protocol for an origin such as `http://127.0.0.1:12111`. */
export function parseApiBase(apiBase: string): { host: string; port: number; protocol: 'http' | 'https' } {
  const url = new URL(apiBase);
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  const port = url.port ? Number(url.port) : protocol === 'http' ? 80 : 443;
  // URL keeps IPv6 brackets; the SDK hands host to http.request, which wants them off.
  return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port, protocol };
}

/** No response (network, timeout), 409, 429 and 5xx are worth retrying; other 4xx are not. */
function toStripeCallError(op: string, mode: Mode, timeoutMs: number, err: unknown): StripeCallError {
  const prefix = `Stripe ${op} (${mode} mode)`;
  if (!(err instanceof Stripe.errors.StripeError)) {
    // Thrown before any request went out (bad arguments): a bug that retrying will not fix.
    const name = err instanceof Error ? err.name : typeof err;
    return new StripeCallError(`${prefix}: unexpected ${name}`, {
      retryable: false,
      status: null,
      code: null,
    });
  }
  const status = err.statusCode ?? null;
  const code = err.code ?? null;
  const type = err.rawType ?? null;
  const requestId = err.requestId ?? null;
  if (status === null) {
    const detailCode = errorCode(err.detail);
    const what =
      detailCode === 'ETIMEDOUT'
        ? `timed out after ${timeoutMs}ms`
        : `network error (${detailCode ?? 'no response'})`;
    return new StripeCallError(`${prefix}: ${what}`, { retryable: true, status, code, type, requestId });
  }
  const retryable = status === 409 || status === 429 || status >= 500;
  const replayed = err.headers?.['idempotent-replayed'] === 'true';
  const parts = [`HTTP ${status}`, type, code, requestId && `(${requestId})`, replayed && 'replayed'].filter(
    Boolean,
  );
  return new StripeCallError(`${prefix}: ${parts.join(' ')}`, {
    retryable,
    status,
    code,
    type,
    requestId,
    replayed,
  });
}

function errorCode(detail: unknown): string | null {
  if (typeof detail === 'object' && detail !== null && 'code' in detail && typeof detail.code === 'string') {
    return detail.code;
  }
  return null;
}
