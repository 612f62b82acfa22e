import { createHmac } from 'node:crypto';

/**
 * Signatures of one delivery attempt, in both schemes at once, so a receiver can verify with
 * Stripe's SDK (`Stripe-Signature`) or any Standard Webhooks library (`webhook-*`), unmodified.
 * One signature per active secret: during a roll, receivers holding either secret accept.
 */

export const SECRET_PREFIX = 'whsec_';
export const USER_AGENT = 'LuniPay-Webhooks/1.0';

export interface SignInput {
  /** The exact bytes sent, as a string. */
  body: string;
  /** Unix seconds; each attempt is signed afresh with its own. */
  timestamp: number;
  /** The event id: `webhook-id`, what receivers dedupe on. */
  eventId: string;
  /** The endpoint's active secrets, `whsec_…`, newest first. */
  secrets: readonly string[];
}

/** `t=<t>,v1=<hex>,…`: HMAC-SHA256 of `<t>.<body>`, keyed by the whole secret string as UTF-8. */
export function stripeSignature(body: string, timestamp: number, secrets: readonly string[]): string {
  const signatures = secrets.map(
    (secret) => `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex')}`,
  );
  return [`t=${timestamp}`, ...signatures].join(',');
}

/** `v1,<base64> …`: HMAC-SHA256 of `<id>.<t>.<body>`, keyed by the base64-decoded part after `whsec_`. */
export function standardSignature(
  eventId: string,
  timestamp: number,
  body: string,
  secrets: readonly string[],
): string {
  return secrets
    .map((secret) => {
      const key = Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
      return `v1,${createHmac('sha256', key).update(`${eventId}.${timestamp}.${body}`, 'utf8').digest('base64')}`;
    })
    .join(' ');
}

/** Every header of a delivery attempt. */
export function signatureHeaders(input: SignInput): Record<string, string> {
  if (input.secrets.length === 0) throw new Error('an endpoint has at least one active secret to sign with');
  for (const secret of input.secrets) {
    if (!secret.startsWith(SECRET_PREFIX)) throw new Error('a signing secret starts with whsec_');
  }
  if (!Number.isSafeInteger(input.timestamp)) throw new Error('a timestamp is whole unix seconds');
  return {
    'Content-Type': 'application/json',
    'User-Agent': USER_AGENT,
    'Stripe-Signature': stripeSignature(input.body, input.timestamp, input.secrets),
    'webhook-id': input.eventId,
    'webhook-timestamp': String(input.timestamp),
    'webhook-signature': standardSignature(input.eventId, input.timestamp, input.body, input.secrets),
  };
}
