import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { Agent, buildConnector, type Dispatcher, fetch, type RequestInit, type Response } from 'undici';
import { bareHost, isBlockedAddress } from './webhooks.address.js';

/**
 * The HTTP client of deliveries. The address rules are applied where the connection is made,
 * to the very address connected to, so a name that resolves (or re-resolves, DNS rebinding) to
 * an internal address is refused as surely as an internal IP literal. This is undici's own
 * `Agent` and `fetch` from the `undici` package, used together: Node's built-in fetch bundles
 * another undici, whose dispatcher interface need not match the package's.
 */

/** A connection refused because its address is in a blocked range: the attempt's `address_blocked`. */
export class AddressBlockedError extends Error {
  override name = 'AddressBlockedError';
  readonly code = 'ADDRESS_BLOCKED';
  constructor(
    readonly host: string,
    readonly address: string,
  ) {
    super(`${host} resolves to ${address}, a loopback, private or otherwise internal address`);
  }
}

/** True when `error`, or any error it was caused by (fetch wraps them), is an AddressBlockedError. */
export function isAddressBlocked(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e instanceof AddressBlockedError) return true;
  }
  return false;
}

/**
 * `dns.lookup` that fails when any address the name resolves to is blocked: refusing only some
 * would let a name with one public and one internal address reach the internal one.
 */
export function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 0);
      const blocked = allowPrivate ? undefined : addresses.find((a) => isBlockedAddress(a.address));
      if (blocked) return callback(new AddressBlockedError(hostname, blocked.address), '', 0);
      if (options.all) return (callback as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0];
      if (!first)
        return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
      callback(null, first.address, first.family);
    });
  };
}

export interface DispatcherOptions {
  /** `LUNIPAY_WEBHOOK_ALLOW_PRIVATE`: internal addresses allowed, for local development. */
  allowPrivate: boolean;
  /** How long connecting may take, in ms. */
  connectTimeoutMs?: number;
}

/**
 * A dispatcher whose every connection is to an allowed address. An IP literal is never looked
 * up, so it is checked here; a name goes through `guardedLookup`.
 */
export function webhookDispatcher(options: DispatcherOptions): Agent {
  const connector = buildConnector({
    lookup: guardedLookup(options.allowPrivate),
    timeout: options.connectTimeoutMs ?? 10_000,
  });
  return new Agent({
    connect(connectOptions, callback) {
      const host = bareHost(connectOptions.hostname);
      if (!options.allowPrivate && isIP(host) !== 0 && isBlockedAddress(host)) {
        return callback(new AddressBlockedError(host, host), null);
      }
      connector(connectOptions, callback);
    },
  });
}

/**
 * `fetch` through the dispatcher, never following a redirect: a 3xx comes back as it is, and is
 * not a delivery (`isDelivered`).
 */
export function webhookFetch(
  url: string,
  init: Omit<RequestInit, 'dispatcher' | 'redirect'>,
  dispatcher: Dispatcher,
): Promise<Response> {
  return fetch(url, { ...init, redirect: 'manual', dispatcher });
}

/** Only a 2xx is a delivery; a redirect, like any other status, is a failed attempt. */
export const isDelivered = (status: number): boolean => status >= 200 && status < 300;
