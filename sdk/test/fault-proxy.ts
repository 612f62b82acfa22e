/**
 * A fault-injecting reverse proxy in front of a real LuniPay server, for the live tests: the same
 * failNext / attempts API as the stub (see fault-server.ts), but requests that are not failed are
 * forwarded to `target` and its answers passed back.
 */
import { FaultyServer, type StubResponse, sleep } from './fault-server.js';

const FORWARDED_REQUEST_HEADERS = ['authorization', 'content-type', 'accept', 'idempotency-key'];
const FORWARDED_RESPONSE_HEADERS = ['content-type', 'request-id', 'retry-after', 'idempotent-replayed'];

export function startFaultProxy(target: string): Promise<FaultyServer> {
  const base = target.replace(/\/+$/, '');
  return FaultyServer.start(async (req, ctx): Promise<StubResponse> => {
    if (ctx.delayMs) await sleep(ctx.delayMs);
    const headers: Record<string, string> = {};
    for (const name of FORWARDED_REQUEST_HEADERS) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const init: RequestInit = { method: req.method, headers };
    if (req.method !== 'GET' && req.method !== 'HEAD' && req.body !== '') init.body = req.body;
    const res = await fetch(`${base}${req.url.pathname}${req.url.search}`, init);
    const text = await res.text();
    const out: Record<string, string> = {};
    for (const name of FORWARDED_RESPONSE_HEADERS) {
      const value = res.headers.get(name);
      if (value !== null) out[name] = value;
    }
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // pass non-JSON through as text
    }
    return { status: res.status, headers: out, body };
  });
}
