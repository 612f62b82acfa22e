/**
 * A node:http server that runs a handler behind a programmable fault injector and records every
 * attempt it receives. The canned answers of this package's tests (canned.ts) and the fault proxy
 * in front of the real server (fault-proxy.ts, for the repository's test/sdk/) are both built on it.
 *
 *   server.failNext(2, { kind: 'status', status: 503 });   // next 2 requests answer 503
 *   server.failNext(1, { kind: 'reset' });                 // next request: socket destroyed, nothing done
 *   server.failNext(1, { kind: 'reset-after' });           // next request IS handled, then the socket is destroyed
 *   server.failNext(1, { kind: 'delay', ms: 500 });        // next request is handled slowly
 *   server.slowMs = 200;                                   // every request is handled slowly
 *   server.attempts                                        // [{ method, path, idempotencyKey, … }, …]
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StubRequest {
  method: string;
  url: URL;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface StubResponse {
  status: number;
  headers?: Record<string, string>;
  /** An object is sent as JSON; a string as is. */
  body?: unknown;
}

/** `delayMs`: how long the handler should take, at the point where it holds its idempotency key. */
export type Handler = (req: StubRequest, ctx: { delayMs: number }) => Promise<StubResponse>;

export type Fault =
  | { kind: 'status'; status: number; retryAfter?: string; body?: unknown; contentType?: string }
  | { kind: 'reset' }
  | { kind: 'reset-after' }
  | { kind: 'delay'; ms: number };

export interface AttemptRecord {
  method: string;
  path: string;
  query: string;
  idempotencyKey: string | undefined;
  authorization: string | undefined;
  contentType: string | undefined;
  accept: string | undefined;
  body: string;
  fault: Fault['kind'] | undefined;
  /** ms since the server started, when the request arrived */
  at: number;
  /** the status sent back, when one was */
  status?: number;
  replayed?: boolean;
}

export class FaultyServer {
  readonly attempts: AttemptRecord[] = [];
  readonly #faults: Fault[] = [];
  slowMs = 0;
  url = '';
  readonly #server: http.Server;
  readonly #started = Date.now();

  private constructor(handler: Handler) {
    this.#server = http.createServer((req, res) => {
      this.#serve(handler, req, res).catch((error: unknown) => {
        if (!res.headersSent && !res.destroyed) {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`stub crashed: ${String(error)}`);
        }
      });
    });
  }

  static async start(handler: Handler): Promise<FaultyServer> {
    const server = new FaultyServer(handler);
    await new Promise<void>((resolve) => server.#server.listen(0, '127.0.0.1', resolve));
    const { port } = server.#server.address() as AddressInfo;
    server.url = `http://127.0.0.1:${port}`;
    return server;
  }

  /** The next `count` requests suffer `fault`, in order (queued after faults already planned). */
  failNext(count: number, fault: Fault): this {
    for (let i = 0; i < count; i++) this.#faults.push(fault);
    return this;
  }

  /** Forgets planned faults, recorded attempts and slowness. */
  reset(): void {
    this.#faults.length = 0;
    this.attempts.length = 0;
    this.slowMs = 0;
  }

  get pendingFaults(): number {
    return this.#faults.length;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #serve(handler: Handler, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://stub.invalid');
    const fault = this.#faults.shift();
    const header = (name: string): string | undefined => {
      const v = req.headers[name];
      return Array.isArray(v) ? v.join(', ') : v;
    };
    const record: AttemptRecord = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.search,
      idempotencyKey: header('idempotency-key'),
      authorization: header('authorization'),
      contentType: header('content-type'),
      accept: header('accept'),
      body,
      fault: fault?.kind,
      at: Date.now() - this.#started,
    };
    this.attempts.push(record);

    if (fault?.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'status') {
      const headers: Record<string, string> = {
        'content-type': fault.contentType ?? 'application/json; charset=utf-8',
        'request-id': `req_fault_${this.attempts.length}`,
      };
      if (fault.retryAfter !== undefined) headers['retry-after'] = fault.retryAfter;
      const payload =
        fault.body !== undefined
          ? fault.body
          : {
              error: {
                type:
                  fault.status === 429
                    ? 'rate_limit_error'
                    : fault.status >= 500
                      ? 'api_error'
                      : 'invalid_request_error',
                code:
                  fault.status === 429
                    ? 'rate_limited'
                    : fault.status === 503
                      ? 'service_unavailable'
                      : fault.status === 409
                        ? 'idempotency_key_in_use'
                        : 'internal_error',
                message: `Injected ${fault.status}.`,
              },
            };
      record.status = fault.status;
      res.writeHead(fault.status, headers);
      res.end(typeof payload === 'string' ? payload : JSON.stringify(payload));
      return;
    }

    const delayMs = (fault?.kind === 'delay' ? fault.ms : 0) + this.slowMs;
    const response = await handler({ method: record.method, url, headers: req.headers, body }, { delayMs });
    record.status = response.status;
    record.replayed = response.headers?.['idempotent-replayed'] === 'true';
    if (fault?.kind === 'reset-after') {
      // The work is done (and, for a write, its idempotent response stored); the client never hears.
      req.socket.destroy();
      return;
    }
    if (res.destroyed) return; // the client gave up (timeout) while we were slow
    const isText = typeof response.body === 'string';
    const headers: Record<string, string> = {
      'content-type': isText ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
      ...response.headers,
    };
    res.writeHead(response.status, headers);
    res.end(
      response.body === undefined ? '' : isText ? (response.body as string) : JSON.stringify(response.body),
    );
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
