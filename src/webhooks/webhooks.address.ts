import { BlockList, isIP } from 'node:net';

/**
 * Where a webhook may be sent. Pure functions: the endpoint routes check a URL when it is set,
 * and deliveries check every address a host resolves to when they connect (webhooks.dispatcher.ts),
 * because a public name can point at an internal address at any time.
 */

export const URL_MAX_LENGTH = 2048;

/** IPv4 ranges no webhook may reach: each is internal to a host or a network, or not unicast. */
const V4_RANGES: [string, number][] = [
  ['0.0.0.0', 8], // unspecified, "this network"
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local (cloud metadata services live here)
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking networks
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and the broadcast address
];

const V6_RANGES: [string, number][] = [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated, still private)
  ['fc00::', 7], // unique-local
  ['ff00::', 8], // multicast
];

/**
 * IPv6 prefixes that carry an IPv4 address in their low bits (NAT64, 6to4, IPv4-compatible):
 * such an address is blocked when the IPv4 address inside is. (IPv4-mapped `::ffff:a.b.c.d` is
 * matched by BlockList itself.)
 */
const V4_CARRIERS: { prefix: (v4: number[]) => string; bits: number }[] = [
  { prefix: ([a, b, c, d]) => `64:ff9b::${hex(a, b)}:${hex(c, d)}`, bits: 96 },
  { prefix: ([a, b, c, d]) => `2002:${hex(a, b)}:${hex(c, d)}::`, bits: 16 },
  { prefix: ([a, b, c, d]) => `::${hex(a, b)}:${hex(c, d)}`, bits: 96 },
];

function hex(high = 0, low = 0): string {
  return ((high << 8) | low).toString(16);
}

const BLOCKED = new BlockList();
for (const [network, bits] of V4_RANGES) {
  BLOCKED.addSubnet(network, bits, 'ipv4');
  const octets = network.split('.').map(Number);
  for (const carrier of V4_CARRIERS) BLOCKED.addSubnet(carrier.prefix(octets), carrier.bits + bits, 'ipv6');
}
for (const [network, bits] of V6_RANGES) BLOCKED.addSubnet(network, bits, 'ipv6');

/**
 * True when `ip`, an IPv4 or IPv6 address (no brackets), is one a webhook may not reach:
 * loopback, private, link-local, carrier-grade NAT, unique-local, unspecified, multicast or
 * reserved, in any of its IPv4, IPv6 or IPv4-in-IPv6 forms. Not an address at all: true.
 */
export function isBlockedAddress(ip: string): boolean {
  const family = isIP(ip);
  if (family === 0) return true;
  return BLOCKED.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}

/** A URL's hostname without the brackets of an IPv6 literal or a trailing root dot, lower-cased. */
export function bareHost(hostname: string): string {
  const unbracketed = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return unbracketed.replace(/\.$/, '').toLowerCase();
}

/**
 * True when a URL's hostname is refused before any lookup: an IP literal in a blocked range, or
 * `localhost` and the names under it (which resolvers answer with loopback addresses).
 * An ordinary name is not: its addresses are checked when a delivery connects.
 */
export function isBlockedHost(hostname: string): boolean {
  const host = bareHost(hostname);
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  return isIP(host) !== 0 && isBlockedAddress(host);
}

export interface UrlRules {
  /** Live-mode endpoints take https only. */
  livemode: boolean;
  /** `LUNIPAY_WEBHOOK_ALLOW_PRIVATE`: internal hosts allowed, for local development. */
  allowPrivate: boolean;
}

// The URL parser silently drops leading and trailing spaces and controls, and tabs and newlines
// anywhere: such a URL would not be the one stored and shown.
function hasSpaceOrControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code <= 0x20 || (code >= 0x7f && code <= 0x9f)) return true;
  }
  return false;
}

/** Why a webhook endpoint may not have this URL, as one sentence; null when it may. */
export function urlProblem(url: string, rules: UrlRules): string | null {
  if ([...url].length > URL_MAX_LENGTH) return `Invalid url: must be at most ${URL_MAX_LENGTH} characters.`;
  let parsed: URL;
  try {
    if (hasSpaceOrControl(url)) throw new Error('space or control character');
    parsed = new URL(url);
  } catch {
    return 'Invalid url: must be an absolute http or https URL, such as https://example.com/webhooks.';
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    return 'Invalid url: only http and https URLs can receive webhooks.';
  }
  if (parsed.username !== '' || parsed.password !== '') {
    return 'Invalid url: must not contain a user name or password.';
  }
  if (rules.livemode && parsed.protocol !== 'https:') {
    return 'Invalid url: a live-mode endpoint must use https.';
  }
  if (!rules.allowPrivate && isBlockedHost(parsed.hostname)) {
    return `Invalid url: ${parsed.hostname} is a loopback, private or otherwise internal address, which cannot receive webhooks.`;
  }
  return null;
}
