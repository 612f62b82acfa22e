import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import qs from 'qs';

/**
 * A fake Stripe API for tests, spoken to by the real `stripe` SDK. It is stricter than Stripe where
 * that catches our bugs: a request without `Stripe-Account` is refused (Stripe would quietly act on
 * the platform account), and unknown customer parameters are refused as Stripe does.
 */

export interface RecordedRequest {
  method: string;
  /** without the query string */
  path: string;
  headers: IncomingHttpHeaders;
  authorization: string | null;
  stripeAccount: string | null;
  idempotencyKey: string | null;
  /** form body (POST) or query (GET/DELETE), parsed with Stripe's bracket notation */
  body: Record<string, unknown>;
  /** status sent back; null while pending or when the socket was destroyed */
  status: number | null;
  /** when it arrived (ms since the epoch) */
  at: number;
  /** the answer was one stored under the idempotency key, sent with `Idempotent-Replayed: true` */
  replayed: boolean;
}

export interface FakeCustomer {
  id: string;
  object: 'customer';
  created: number;
  livemode: boolean;
  email: string | null;
  name: string | null;
  phone: string | null;
  description: string | null;
  metadata: Record<string, string>;
}

/**
 * An HTTP error answer, or `'network'`: the socket is destroyed without an answer. A `stored`
 * answer is saved under the request's idempotency key, as Stripe saves an endpoint's 500, so
 * every retry with that key gets it again.
 */
export type Fault = { status: number; body?: unknown; stored?: boolean } | 'network';

export interface FakeStripe {
  /** e.g. `http://127.0.0.1:54321`, for the gateway's `apiBase` */
  url: string;
  /** every request received, in order, faulted ones included */
  readonly requests: readonly RecordedRequest[];
  /** live (not deleted) customers of a connected account, both modes */
  customers(stripeAccount: string): FakeCustomer[];
  /** the next `n` requests get `fault` */
  failNext(n: number, fault: Fault): void;
  /** every request for which `predicate` holds gets `fault` (an outage) until `clearFaults()` */
  failWhile(predicate: (req: RecordedRequest) => boolean, fault?: Fault): void;
  clearFaults(): void;
  /** hold every answer this long; the request is still carried out if the client gave up */
  setDelay(ms: number): void;
  /** forget the stored idempotency keys only, as Stripe does after about 24 hours */
  forgetIdempotencyKeys(): void;
  /** forget customers, requests, idempotency keys, faults and delay */
  reset(): void;
  close(): Promise<void>;
}

interface Answer {
  status: number;
  body: unknown;
  replayed?: boolean;
}

interface StoredIdempotency {
  method: string;
  path: string;
  body: string;
  answer: Answer | null; // null while the first request is still running
}

const CUSTOMER_PARAMS = new Set(['email', 'name', 'phone', 'description', 'metadata']);

function stripeError(status: number, type: string, message: string, code?: string): Answer {
  return { status, body: { error: { type, message, ...(code ? { code } : {}) } } };
}

const invalid = (status: number, message: string, code?: string) =>
  stripeError(status, 'invalid_request_error', message, code);

const ok = (body: unknown): Answer => ({ status: 200, body });

function newCustomer(livemode: boolean): FakeCustomer {
  const id = `cus_${randomBytes(10).toString('base64url').replace(/[-_]/g, 'x')}`;
  const created = Math.floor(Date.now() / 1000);
  const blank = { email: null, name: null, phone: null, description: null, metadata: {} };
  return { id, object: 'customer', created, livemode, ...blank };
}

/** Checks, then applies, customer params: '' clears a field; metadata '' or metadata[key] '' unsets. */
function applyParams(customer: FakeCustomer, body: Record<string, unknown>): Answer | null {
  for (const [key, value] of Object.entries(body)) {
    if (!CUSTOMER_PARAMS.has(key))
      return invalid(400, `Received unknown parameter: ${key}`, 'parameter_unknown');
    const values =
      key === 'metadata' && typeof value === 'object' && value !== null ? Object.values(value) : [value];
    if (!values.every((v) => typeof v === 'string')) {
      return invalid(400, `Invalid value for ${key}.`, 'parameter_invalid_string');
    }
  }
  for (const [key, value] of Object.entries(body)) {
    if (key !== 'metadata') {
      (customer as unknown as Record<string, string | null>)[key] = value === '' ? null : (value as string);
    } else if (value === '') customer.metadata = {};
    else {
      for (const [mk, mv] of Object.entries(value as Record<string, string>)) {
        if (mv === '') delete customer.metadata[mk];
        else customer.metadata[mk] = mv;
      }
    }
  }
  return null;
}

/** Stripe's list: newest first, `created[gte|lte]`, `limit` (default 10) and `starting_after`. */
function listCustomers(
  customers: Map<string, FakeCustomer>,
  query: Record<string, unknown>,
  livemode: boolean,
): { object: 'list'; url: string; has_more: boolean; data: FakeCustomer[] } {
  const created = (query.created ?? {}) as { gte?: string; lte?: string };
  let all = [...customers.values()]
    .filter((c) => c.livemode === livemode)
    .filter((c) => created.gte === undefined || c.created >= Number(created.gte))
    .filter((c) => created.lte === undefined || c.created <= Number(created.lte))
    .reverse();
  if (typeof query.starting_after === 'string') {
    all = all.slice(all.findIndex((c) => c.id === query.starting_after) + 1);
  }
  const limit = query.limit === undefined ? 10 : Number(query.limit);
  return { object: 'list', url: '/v1/customers', has_more: all.length > limit, data: all.slice(0, limit) };
}

function faultAnswer(fault: { status: number; body?: unknown }): Answer {
  if (fault.body !== undefined) return { status: fault.status, body: fault.body };
  if (fault.status === 429) return invalid(429, 'Too many requests.', 'rate_limit');
  if (fault.status === 409) return invalid(409, 'Conflict.', 'lock_timeout');
  if (fault.status >= 500) return stripeError(fault.status, 'api_error', 'Injected failure.');
  return invalid(fault.status, 'Injected failure.');
}

export async function startFakeStripe(): Promise<FakeStripe> {
  // stripeAccount → customer id → customer; deleted ids remembered so GET can say so like Stripe.
  let accounts = new Map<string, Map<string, FakeCustomer>>();
  let deleted = new Set<string>();
  let idempotency = new Map<string, StoredIdempotency>();
  let requests: RecordedRequest[] = [];
  let queuedFaults: Fault[] = [];
  let outage: { predicate: (req: RecordedRequest) => boolean; fault: Fault } | null = null;
  let delayMs = 0;
  let requestCounter = 0;
  const timers = new Set<NodeJS.Timeout>();

  function accountCustomers(stripeAccount: string): Map<string, FakeCustomer> {
    const map = accounts.get(stripeAccount) ?? new Map<string, FakeCustomer>();
    accounts.set(stripeAccount, map);
    return map;
  }

  function handle(req: RecordedRequest, livemode: boolean): Answer {
    const account = req.stripeAccount ?? '';
    const customers = accountCustomers(account);
    const match = /^\/v1\/customers(?:\/([^/]+))?$/.exec(req.path);
    const id = match?.[1] && decodeURIComponent(match[1]);
    if (match && !id && req.method === 'POST') {
      const customer = newCustomer(livemode);
      const rejected = applyParams(customer, req.body);
      if (!rejected) customers.set(customer.id, customer);
      return rejected ?? ok(customer);
    }
    if (match && !id && req.method === 'GET') return ok(listCustomers(customers, req.body, livemode));
    if (!id || !['GET', 'POST', 'DELETE'].includes(req.method)) {
      return invalid(404, `Unrecognized request URL (${req.method}: ${req.path}).`);
    }
    const customer = customers.get(id);
    // Test and live data are separate in Stripe even on the same account.
    if (!customer || customer.livemode !== livemode) {
      if (req.method === 'GET' && deleted.has(`${account}/${id}`))
        return ok({ id, object: 'customer', deleted: true });
      return invalid(404, `No such customer: '${id}'`, 'resource_missing');
    }
    if (req.method === 'GET') return ok(customer);
    if (req.method === 'DELETE') {
      customers.delete(id);
      deleted.add(`${account}/${id}`);
      return ok({ id, object: 'customer', deleted: true });
    }
    const draft: FakeCustomer = { ...customer, metadata: { ...customer.metadata } };
    const rejected = applyParams(draft, req.body);
    if (!rejected) customers.set(id, draft);
    return rejected ?? ok(draft);
  }

  /**
   * Stripe's idempotency, scoped like Stripe's to the API key and account: a stored answer is
   * replayed, a key reused for another request is refused, and a duplicate of a request still
   * running gets 409. Otherwise the caller runs the request and commits its answer.
   */
  type Gate = { answer: Answer } | { commit(answer: Answer): void };
  function beginIdempotent(req: RecordedRequest, apiKey: string): Gate {
    if (!req.idempotencyKey) return { commit: () => {} };
    const store = idempotency;
    const scope = `${apiKey}\n${req.stripeAccount}\n${req.idempotencyKey}`;
    const body = JSON.stringify(req.body);
    const stored = store.get(scope);
    if (stored) {
      if (stored.method !== req.method || stored.path !== req.path || stored.body !== body) {
        const message =
          'Keys for idempotent requests can only be used with the same parameters they were first used with.';
        return { answer: stripeError(400, 'idempotency_error', message) };
      }
      if (!stored.answer) {
        const message = 'There is currently another in-progress request using this idempotency key.';
        return { answer: stripeError(409, 'idempotency_error', message) };
      }
      return { answer: { ...stored.answer, replayed: true } };
    }
    const entry: StoredIdempotency = { method: req.method, path: req.path, body, answer: null };
    store.set(scope, entry);
    return {
      commit(answer) {
        // Stripe saves the result once the endpoint ran; requests that failed validation are not saved.
        if (answer.status === 400) store.delete(scope);
        else entry.answer = answer;
      },
    };
  }

  function respond(res: ServerResponse, rec: RecordedRequest, answer: Answer): void {
    rec.status = answer.status;
    rec.replayed = answer.replayed === true;
    if (res.destroyed) return;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'request-id': `req_fake${String(++requestCounter).padStart(6, '0')}`,
    };
    if (rec.idempotencyKey) headers['idempotency-key'] = rec.idempotencyKey;
    if (answer.replayed) headers['idempotent-replayed'] = 'true';
    res.writeHead(answer.status, headers).end(JSON.stringify(answer.body));
  }

  function onRequest(req: IncomingMessage, res: ServerResponse, raw: string): void {
    const [path = '', query = ''] = (req.url ?? '').split('?', 2);
    const header = (name: string) => {
      const value = req.headers[name];
      return typeof value === 'string' ? value : null;
    };
    const rec: RecordedRequest = {
      method: req.method ?? '',
      path,
      headers: req.headers,
      authorization: header('authorization'),
      stripeAccount: header('stripe-account'),
      idempotencyKey: header('idempotency-key'),
      body: qs.parse(req.method === 'POST' ? raw : query) as Record<string, unknown>,
      status: null,
      replayed: false,
      at: Date.now(),
    };
    requests.push(rec);

    const fault = queuedFaults.shift() ?? (outage?.predicate(rec) ? outage.fault : undefined);
    if (fault === 'network') {
      req.socket.destroy();
      return;
    }
    const apiKey = /^Bearer ((?:sk|rk)_(test|live)_\S+)$/.exec(rec.authorization ?? '');
    // Stripe itself would act on the platform account without Stripe-Account; refusing catches that.
    const early =
      fault && !fault.stored
        ? faultAnswer(fault)
        : !apiKey?.[1]
          ? invalid(401, 'Invalid API Key provided.')
          : !rec.stripeAccount
            ? invalid(400, 'Stripe-Account header is required.', 'parameter_missing')
            : null;
    const gate: Gate = early ? { answer: early } : beginIdempotent(rec, apiKey?.[1] ?? '');
    if ('answer' in gate) {
      respond(res, rec, gate.answer);
      return;
    }
    if (fault) {
      const answer = faultAnswer(fault);
      gate.commit(answer);
      respond(res, rec, answer);
      return;
    }
    const livemode = apiKey?.[2] === 'live';
    // The idempotency key is taken on arrival, so a duplicate sent during the delay gets Stripe's
    // 409; the work happens after the delay, as if Stripe were slow, even if the client gave up.
    const finish = () => {
      const answer = handle(rec, livemode);
      gate.commit(answer);
      respond(res, rec, answer);
    };
    if (delayMs <= 0) {
      finish();
      return;
    }
    const timer = setTimeout(() => {
      timers.delete(timer);
      finish();
    }, delayMs);
    timers.add(timer);
  }

  const server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      raw += chunk;
    });
    req.on('end', () => onRequest(req, res, raw));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return requests;
    },
    customers: (stripeAccount) => [...(accounts.get(stripeAccount)?.values() ?? [])],
    failNext(n, fault) {
      for (let i = 0; i < n; i++) queuedFaults.push(fault);
    },
    failWhile(predicate, fault = { status: 503 }) {
      outage = { predicate, fault };
    },
    clearFaults() {
      queuedFaults = [];
      outage = null;
    },
    setDelay(ms) {
      delayMs = ms;
    },
    forgetIdempotencyKeys() {
      idempotency = new Map();
    },
    reset() {
      accounts = new Map();
      deleted = new Set();
      idempotency = new Map();
      requests = [];
      queuedFaults = [];
      outage = null;
      delayMs = 0;
    },
    close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.closeAllConnections();
      return new Promise((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}
