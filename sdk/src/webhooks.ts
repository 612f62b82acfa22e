import { LuniPayError } from './errors.js';

/**
 * Verifying the deliveries LuniPay sends to your webhook endpoints. Each delivery is signed in
 * two schemes at once: `Stripe-Signature` (as Stripe signs its webhooks) and Standard Webhooks'
 * `webhook-id`, `webhook-timestamp` and `webhook-signature`; either is enough. Web Crypto only,
 * so it runs wherever the SDK does (Node 20+, browsers, workers), and is therefore async.
 */

const PREFIX = 'whsec_';
// Made on first use: merely importing the SDK needs no more than fetch.
let textEncoder: TextEncoder | undefined;
const encode = (text: string) => {
  textEncoder ??= new TextEncoder();
  return textEncoder.encode(text);
};

/** What a verified delivery's body is: an event (its exact type follows the API version). */
export interface WebhookEvent {
  id: string;
  object: 'event';
  type: string;
  api_version: string;
  created: number;
  livemode: boolean;
  data: { object: Record<string, unknown>; previous_attributes?: Record<string, unknown> };
  [field: string]: unknown;
}

/** Request headers as frameworks give them: a `Headers` object or a plain record. */
export type WebhookHeaders =
  | { get(name: string): string | null }
  | Record<string, string | string[] | undefined>;

export interface VerifyOptions {
  /** How far the signature's timestamp may be from now, in seconds. Default 300; 0 turns the check off. */
  toleranceSeconds?: number;
  /** The current time in unix seconds, for tests. Default: the clock. */
  nowSeconds?: number;
}

/** A delivery whose signature did not verify. Answer it with a 400, and do not act on it. */
export class WebhookVerificationError extends LuniPayError {
  override name = 'WebhookVerificationError';
  constructor(
    code: 'signature_missing' | 'signature_invalid' | 'timestamp_outside_tolerance',
    message: string,
  ) {
    super({ message, type: 'signature_verification_error', code });
  }
}

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as { get?: unknown }).get === 'function') {
    return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  }
  for (const [key, value] of Object.entries(headers as Record<string, string | string[] | undefined>)) {
    if (key.toLowerCase() === name) return Array.isArray(value) ? value.join(',') : value;
  }
  return undefined;
}

function bytesOf(body: string | Uint8Array): Uint8Array {
  return typeof body === 'string' ? encode(body) : body;
}

function concat(prefix: string, body: Uint8Array): Uint8Array {
  const head = encode(prefix);
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

function fromBase64(text: string): Uint8Array | undefined {
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

const toBase64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const toHex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

function fromHex(text: string): Uint8Array | undefined {
  if (!/^(?:[0-9a-f]{2})+$/i.test(text)) return undefined;
  return Uint8Array.from(text.match(/../g) ?? [], (pair) => Number.parseInt(pair, 16));
}

async function hmac(key: Uint8Array, message: Uint8Array): Promise<Uint8Array> {
  // Copies: Web Crypto takes views of an ArrayBuffer only, never of a SharedArrayBuffer.
  const imported = await crypto.subtle.importKey(
    'raw',
    new Uint8Array(key),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  return new Uint8Array(await crypto.subtle.sign('HMAC', imported, new Uint8Array(message)));
}

/** Compares every byte whatever differs, so the time taken tells nothing about the signature. */
function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= (a[i] as number) ^ (b[i] as number);
  return difference === 0;
}

function secretKeys(secret: string) {
  if (typeof secret !== 'string' || !secret.startsWith(PREFIX)) {
    throw new TypeError(
      'A webhook secret is the whsec_… string shown when the endpoint was created or rolled.',
    );
  }
  const standard = fromBase64(secret.slice(PREFIX.length));
  if (!standard) throw new TypeError('A webhook secret is whsec_ followed by base64.');
  return { stripe: encode(secret), standard };
}

/** The Stripe-Signature scheme: `t=…,v1=<hex>` of `<t>.<body>`, keyed by the whole secret string. */
async function stripeMatches(value: string, body: Uint8Array, secrets: string[]) {
  const parts = value.split(',').map((part) => part.trim().split('='));
  const timestamp = parts.find(([k]) => k === 't')?.[1];
  if (timestamp === undefined || !/^\d{1,12}$/.test(timestamp)) return undefined;
  const candidates = parts.filter(([k]) => k === 'v1').flatMap(([, v]) => fromHex(v ?? '') ?? []);
  for (const secret of secrets) {
    const expected = await hmac(secretKeys(secret).stripe, concat(`${timestamp}.`, body));
    if (candidates.some((candidate) => timingSafeEqual(candidate, expected))) return Number(timestamp);
  }
  return undefined;
}

/** Standard Webhooks: `v1,<base64>` (space-separated) of `<id>.<t>.<body>`, keyed by the decoded secret. */
async function standardMatches(
  id: string,
  timestamp: string,
  value: string,
  body: Uint8Array,
  secrets: string[],
) {
  if (!/^\d{1,12}$/.test(timestamp)) return undefined;
  const candidates = value
    .split(' ')
    .filter((part) => part.startsWith('v1,'))
    .flatMap((part) => fromBase64(part.slice(3)) ?? []);
  for (const secret of secrets) {
    const expected = await hmac(secretKeys(secret).standard, concat(`${id}.${timestamp}.`, body));
    if (candidates.some((candidate) => timingSafeEqual(candidate, expected))) return Number(timestamp);
  }
  return undefined;
}

/**
 * Checks that a delivery was signed by LuniPay with `secret` (or one of several, while you
 * switch after a roll), recently, and returns its event. Pass the body exactly as received,
 * before any JSON parsing: a re-serialised body does not verify.
 *
 * @example
 * // Express: app.post('/webhooks', express.raw({ type: 'application/json' }), async (req, res) => {
 * const event = await LuniPay.webhooks.verify(req.body, req.headers, process.env.LUNIPAY_WEBHOOK_SECRET!);
 * if (event.type === 'customer.created') console.log(event.data.object.id);
 */
async function verify<T = WebhookEvent>(
  rawBody: string | Uint8Array,
  headers: WebhookHeaders,
  secret: string | string[],
  options: VerifyOptions = {},
): Promise<T> {
  const secrets = Array.isArray(secret) ? secret : [secret];
  for (const s of secrets) secretKeys(s);
  const body = bytesOf(rawBody);
  const id = header(headers, 'webhook-id');
  const standardTimestamp = header(headers, 'webhook-timestamp');
  const standard = header(headers, 'webhook-signature');
  const stripe = header(headers, 'stripe-signature');
  if (!stripe && !(id && standardTimestamp && standard)) {
    throw new WebhookVerificationError(
      'signature_missing',
      'No signature: expected a Stripe-Signature header, or webhook-id, webhook-timestamp and webhook-signature.',
    );
  }
  const timestamp =
    (id && standardTimestamp && standard
      ? await standardMatches(id, standardTimestamp, standard, body, secrets)
      : undefined) ?? (stripe ? await stripeMatches(stripe, body, secrets) : undefined);
  if (timestamp === undefined) {
    throw new WebhookVerificationError('signature_invalid', 'No signature matches this body and secret.');
  }
  const tolerance = options.toleranceSeconds ?? 300;
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (tolerance > 0 && Math.abs(now - timestamp) > tolerance) {
    throw new WebhookVerificationError(
      'timestamp_outside_tolerance',
      `The signature's timestamp is ${Math.abs(now - timestamp)} s from now, more than the ${tolerance} s allowed.`,
    );
  }
  return JSON.parse(typeof rawBody === 'string' ? rawBody : new TextDecoder().decode(rawBody)) as T;
}

export interface TestHeadersParams {
  /** The body to sign: a string, or an object to send as its JSON. */
  payload: string | object;
  secret: string;
  /** Unix seconds. Default: now. */
  timestamp?: number;
  /** The `webhook-id`. Default: the payload's `id`, else `evt_test`. */
  id?: string;
}

/**
 * Headers exactly as LuniPay signs a delivery, for testing your webhook handler without a
 * server. With an object payload, send `JSON.stringify(payload)` as the body.
 *
 * @example
 * const body = JSON.stringify(event);
 * const headers = await LuniPay.webhooks.generateTestHeaders({ payload: body, secret });
 * await fetch('http://localhost:3000/webhooks', { method: 'POST', headers, body });
 */
async function generateTestHeaders(params: TestHeadersParams): Promise<Record<string, string>> {
  const body = typeof params.payload === 'string' ? params.payload : JSON.stringify(params.payload);
  const keys = secretKeys(params.secret);
  const timestamp = params.timestamp ?? Math.floor(Date.now() / 1000);
  let id = params.id;
  if (id === undefined) {
    try {
      const parsed = JSON.parse(body) as { id?: unknown };
      id = typeof parsed?.id === 'string' ? parsed.id : undefined;
    } catch {
      // Not JSON: the default id.
    }
  }
  id ??= 'evt_test';
  const bytes = encode(body);
  const stripe = await hmac(keys.stripe, concat(`${timestamp}.`, bytes));
  const standard = await hmac(keys.standard, concat(`${id}.${timestamp}.`, bytes));
  return {
    'Content-Type': 'application/json',
    'Stripe-Signature': `t=${timestamp},v1=${toHex(stripe)}`,
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': `v1,${toBase64(standard)}`,
  };
}

/** `LuniPay.webhooks`: verify deliveries, and make signed test ones. */
export const webhooks = { verify, generateTestHeaders } as const;
