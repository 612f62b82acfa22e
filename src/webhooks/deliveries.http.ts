import type { DeliveryContext } from '../jobs/job.js';
import { isAddressBlocked, isDelivered, webhookFetch } from './webhooks.dispatcher.js';
import { signatureHeaders } from './webhooks.signing.js';

/** How one POST went; never its bodies. `error` is null for a 2xx. */
export interface AttemptResult {
  httpStatus: number | null;
  error: 'timeout' | 'connection_failed' | 'address_blocked' | 'http_status' | null;
  durationMs: number;
  /** what a 429 or 503 asked for in `Retry-After`, in ms */
  retryAfterMs: number | null;
}

/** `Retry-After` as seconds or an HTTP date, in ms from `now`; null when absent or unreadable. */
export function retryAfterMs(header: string | null, now: number): number | null {
  if (header === null) return null;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

function isTimeout(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e.name === 'TimeoutError' || e.name === 'AbortError') return true;
    if ((e as { code?: string }).code === 'UND_ERR_HEADERS_TIMEOUT') return true;
  }
  return false;
}

/**
 * One signed POST of the body, given up after `timeoutMs`. The response body is read and
 * dropped (so the connection can be reused) and never kept.
 */
export async function postEvent(
  d: DeliveryContext,
  url: string,
  body: string,
  eventId: string,
  secrets: readonly string[],
): Promise<AttemptResult> {
  const started = Date.now();
  const headers = signatureHeaders({ body, timestamp: Math.floor(started / 1000), eventId, secrets });
  const signal = AbortSignal.timeout(d.timeoutMs);
  const took = () => Date.now() - started;
  try {
    const response = await webhookFetch(url, { method: 'POST', headers, body, signal }, d.dispatcher);
    const status = response.status;
    await response.body?.cancel().catch(() => {});
    if (isDelivered(status))
      return { httpStatus: status, error: null, durationMs: took(), retryAfterMs: null };
    const asked =
      status === 429 || status === 503 ? retryAfterMs(response.headers.get('retry-after'), Date.now()) : null;
    return { httpStatus: status, error: 'http_status', durationMs: took(), retryAfterMs: asked };
  } catch (error) {
    const kind = isAddressBlocked(error)
      ? 'address_blocked'
      : isTimeout(error) || signal.aborted
        ? 'timeout'
        : 'connection_failed';
    return { httpStatus: null, error: kind, durationMs: took(), retryAfterMs: null };
  }
}
