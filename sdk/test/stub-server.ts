/**
 * An in-memory imitation of the LuniPay Customers API (spec/customers-api.md), small but faithful
 * where the SDK can tell: routes, auth, JSON bodies, the customer object, validation errors and
 * their `param`, keyset pagination with both cursors and the filters, idempotency (replay with
 * `Idempotent-Replayed`, 400 on reuse, 409 while in flight) and `Request-Id` on every response.
 * Each API key is its own account, so tests isolate themselves by using a fresh key.
 *
 * Not imitated: form bodies, live/test cross-mode messages, Stripe provisioning, rate limiting
 * (inject 429s with failNext instead).
 */
import { randomBytes } from 'node:crypto';
import { FaultyServer, type StubRequest, type StubResponse, sleep } from './fault-server.js';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const CUSTOMER_ID = /^cus_[0-9A-HJKMNP-TV-Z]{26}$/;
const EDITABLE = ['email', 'first_name', 'last_name', 'phone', 'company_name', 'notes', 'metadata'] as const;
const READ_ONLY = ['id', 'object', 'livemode', 'stripe_customer_id', 'created', 'updated'];

interface Customer {
  id: string;
  object: 'customer';
  livemode: boolean;
  email: string;
  first_name: string;
  last_name: string;
  phone: string | null;
  company_name: string | null;
  notes: string | null;
  metadata: Record<string, string> | null;
  stripe_customer_id: string | null;
  created: number;
  updated: number;
}

interface IdempotencyEntry {
  fingerprint: string;
  response?: StubResponse;
}

interface Account {
  customers: Map<string, Customer>;
  idempotency: Map<string, IdempotencyEntry>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly code: string,
    message: string,
    readonly param?: string,
  ) {
    super(message);
  }
}

const invalid = (code: string, message: string, param?: string): HttpError =>
  new HttpError(400, 'invalid_request_error', code, message, param);

let lastTime = 0;
let counter = 0n;
function encode(value: bigint, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) {
    out = CROCKFORD[Number(value % 32n)] + out;
    value /= 32n;
  }
  return out;
}
/** Monotonic ULID-shaped ids: 10 chars of time, 16 of a per-process counter. */
function newId(prefix: string): string {
  const now = Date.now();
  if (now > lastTime) lastTime = now;
  counter += 1n;
  return `${prefix}${encode(BigInt(lastTime), 10)}${encode(counter, 16)}`;
}

function codePoints(s: string): number {
  return [...s].length;
}

function checkString(field: string, value: unknown, min: number, max: number): string {
  if (typeof value !== 'string') throw invalid('parameter_invalid', `${field} must be a string.`, field);
  if (value.includes('\0')) throw invalid('parameter_invalid', `${field} must not contain NUL.`, field);
  const n = codePoints(value);
  if (n < min || n > max)
    throw invalid('parameter_invalid', `${field} must be ${min}–${max} characters.`, field);
  return value;
}

function checkEmail(value: unknown): string {
  if (value === null) throw invalid('parameter_invalid', 'email cannot be null.', 'email');
  const email = checkString('email', value, 1, 512);
  if (codePoints(email) < 3 || !/^[^\s@]+@[^\s@]+$/.test(email)) {
    throw invalid('parameter_invalid', 'email must be a valid email address.', 'email');
  }
  return email;
}

function nullableString(field: string, value: unknown, max: number): string | null {
  if (value === null || value === '') return null;
  return checkString(field, value, 1, max);
}

function applyMetadata(
  current: Record<string, string> | null,
  value: unknown,
  merge: boolean,
): Record<string, string> | null {
  if (value === null || value === '') return null;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw invalid('parameter_invalid', 'metadata must be an object.', 'metadata');
  }
  const result: Record<string, string> = merge && current ? { ...current } : {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const param = `metadata[${key}]`;
    if (codePoints(key) < 1 || codePoints(key) > 40 || /[[\]]/.test(key)) {
      throw invalid('parameter_invalid', 'Metadata keys are 1–40 characters without brackets.', param);
    }
    if (v === null || v === '') {
      delete result[key];
      continue;
    }
    if (typeof v !== 'string') throw invalid('parameter_invalid', 'Metadata values must be strings.', param);
    if (codePoints(v) > 500)
      throw invalid('parameter_invalid', 'Metadata values are at most 500 characters.', param);
    result[key] = v;
  }
  if (Object.keys(result).length > 20)
    throw invalid('parameter_invalid', 'At most 20 metadata keys.', 'metadata');
  return Object.keys(result).length ? result : null;
}

function checkFields(body: Record<string, unknown>): void {
  for (const key of Object.keys(body)) {
    if (READ_ONLY.includes(key)) {
      const extra = key === 'stripe_customer_id' ? ' It is managed by LuniPay.' : '';
      throw invalid('parameter_unknown', `${key} cannot be set.${extra}`, key);
    }
    if (!(EDITABLE as readonly string[]).includes(key))
      throw invalid('parameter_unknown', `Unknown parameter: ${key}.`, key);
  }
}

function parseBody(req: StubRequest): Record<string, unknown> {
  const type = String(req.headers['content-type'] ?? '');
  if (!type.startsWith('application/json')) {
    throw new HttpError(415, 'invalid_request_error', 'unsupported_media_type', 'Send application/json.');
  }
  let body: unknown;
  try {
    body = JSON.parse(req.body);
  } catch {
    throw invalid('invalid_json', 'The body is not valid JSON.');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalid('invalid_json', 'The body must be a JSON object.');
  }
  return body as Record<string, unknown>;
}

function notFound(id: string): HttpError {
  return new HttpError(404, 'invalid_request_error', 'resource_missing', `No such customer: '${id}'`, 'id');
}

/** Canonical JSON (sorted keys), so key order does not change an idempotency fingerprint. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const LIST_PARAMS = new Set([
  'limit',
  'starting_after',
  'ending_before',
  'email',
  'created',
  'created[gt]',
  'created[gte]',
  'created[lt]',
  'created[lte]',
]);

function parseInteger(name: string, value: string): number {
  if (!/^-?\d+$/.test(value)) throw invalid('parameter_invalid', `${name} must be an integer.`, name);
  return Number(value);
}

export class StubApi {
  readonly accounts = new Map<string, Account>();
  /** Keys that answer `api_key_invalid` although well-formed. */
  readonly revokedKeys = new Set<string>();
  /** When set, only these keys are valid (like a real server); otherwise any well-formed key is its own account. */
  knownKeys: Set<string> | undefined;
  /** Number of list requests served, handy for checking lazy pagination. */
  listRequests = 0;

  account(key: string): Account {
    let account = this.accounts.get(key);
    if (!account) {
      account = { customers: new Map(), idempotency: new Map() };
      this.accounts.set(key, account);
    }
    return account;
  }

  /** Puts `count` customers straight into the key's account (oldest first), bypassing HTTP. */
  seed(key: string, count: number, make: (i: number) => Partial<Customer> = () => ({})): Customer[] {
    const account = this.account(key);
    const out: Customer[] = [];
    const now = Math.floor(Date.now() / 1000);
    for (let i = 0; i < count; i++) {
      const customer: Customer = {
        id: newId('cus_'),
        object: 'customer',
        livemode: key.startsWith('sk_live_'),
        email: `seed${i}@example.com`,
        first_name: '',
        last_name: '',
        phone: null,
        company_name: null,
        notes: null,
        metadata: null,
        stripe_customer_id: null,
        created: now,
        updated: now,
        ...make(i),
      };
      account.customers.set(customer.id, customer);
      out.push(customer);
    }
    return out;
  }

  handle = async (req: StubRequest, ctx: { delayMs: number }): Promise<StubResponse> => {
    const requestId = `req_${newId('')}`;
    try {
      const response = await this.#route(req, ctx);
      return { ...response, headers: { 'request-id': requestId, ...response.headers } };
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      const body: { error: Record<string, string> } = {
        error: { type: error.type, code: error.code, message: error.message },
      };
      if (error.param !== undefined) body.error.param = error.param;
      return { status: error.status, headers: { 'request-id': requestId }, body };
    }
  };

  async #route(req: StubRequest, ctx: { delayMs: number }): Promise<StubResponse> {
    const path = req.url.pathname;
    const method = req.method;
    let allowed: string[];
    let id: string | undefined;
    if (path === '/v1/customers') {
      allowed = ['GET', 'POST'];
    } else if (/^\/v1\/customers\/[^/]+$/.test(path)) {
      allowed = ['GET', 'POST', 'PATCH', 'DELETE'];
      id = decodeURIComponent(path.slice('/v1/customers/'.length));
    } else {
      throw new HttpError(
        404,
        'invalid_request_error',
        'url_invalid',
        `Unrecognized request URL (${method}: ${path}).`,
      );
    }
    if (!allowed.includes(method)) {
      throw new HttpError(
        405,
        'invalid_request_error',
        'method_not_allowed',
        `${method} is not allowed on ${path}.`,
      );
    }

    const auth = String(req.headers.authorization ?? '');
    if (!auth) throw new HttpError(401, 'authentication_error', 'api_key_missing', 'No API key provided.');
    const key = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    if (
      !/^sk_(test|live)_[A-Za-z0-9]{24,}$/.test(key) ||
      this.revokedKeys.has(key) ||
      (this.knownKeys !== undefined && !this.knownKeys.has(key))
    ) {
      throw new HttpError(401, 'authentication_error', 'api_key_invalid', 'Invalid API key provided.');
    }
    const account = this.account(key);
    const livemode = key.startsWith('sk_live_');

    if (method === 'GET') {
      if (ctx.delayMs) await sleep(ctx.delayMs);
      return id === undefined
        ? this.#list(account, req.url.searchParams)
        : { status: 200, body: this.#find(account, id) };
    }

    // Writes: validate, then run under the idempotency key.
    const body = method === 'DELETE' ? {} : parseBody(req);
    if (method !== 'DELETE') checkFields(body);
    const execute = (): StubResponse => {
      if (method === 'POST' && id === undefined)
        return { status: 200, body: this.#create(account, body, livemode) };
      if (method === 'DELETE') {
        this.#find(account, id as string);
        account.customers.delete(id as string);
        return { status: 200, body: { id, object: 'customer', deleted: true } };
      }
      return { status: 200, body: this.#update(account, id as string, body) };
    };
    if (method === 'POST' && id === undefined) {
      // validate create up front so that a failed validation is not stored
      if (!('email' in body)) throw invalid('parameter_missing', 'Missing required param: email.', 'email');
    }

    const idemKey = req.headers['idempotency-key'];
    if (idemKey === undefined) {
      if (ctx.delayMs) await sleep(ctx.delayMs);
      return execute();
    }
    if (typeof idemKey !== 'string' || !/^[\x20-\x7e]{1,255}$/.test(idemKey)) {
      throw invalid(
        'parameter_invalid',
        'Idempotency-Key must be 1–255 printable ASCII characters.',
        'Idempotency-Key',
      );
    }
    const fingerprint = `${method} ${path} ${canonical(body)}`;
    const existing = account.idempotency.get(idemKey);
    if (existing) {
      if (existing.fingerprint !== fingerprint) {
        throw new HttpError(
          400,
          'idempotency_error',
          'idempotency_key_reused',
          'This Idempotency-Key was already used with different parameters.',
        );
      }
      if (!existing.response) {
        throw new HttpError(
          409,
          'invalid_request_error',
          'idempotency_key_in_use',
          'A request with this Idempotency-Key is in progress.',
        );
      }
      return {
        ...existing.response,
        headers: { ...existing.response.headers, 'idempotent-replayed': 'true' },
      };
    }
    const entry: IdempotencyEntry = { fingerprint };
    account.idempotency.set(idemKey, entry);
    if (ctx.delayMs) await sleep(ctx.delayMs);
    let response: StubResponse;
    try {
      response = execute();
    } catch (error) {
      if (error instanceof HttpError && error.status === 400) {
        account.idempotency.delete(idemKey); // validation failures are not stored
        throw error;
      }
      if (error instanceof HttpError) {
        const errBody = {
          error: { type: error.type, code: error.code, message: error.message, param: error.param },
        };
        entry.response = { status: error.status, body: errBody };
        throw error;
      }
      account.idempotency.delete(idemKey);
      throw error;
    }
    entry.response = response;
    return response;
  }

  #find(account: Account, id: string): Customer {
    const customer = CUSTOMER_ID.test(id) ? account.customers.get(id) : undefined;
    if (!customer) throw notFound(id);
    return customer;
  }

  #create(account: Account, body: Record<string, unknown>, livemode: boolean): Customer {
    const now = Math.floor(Date.now() / 1000);
    const customer: Customer = {
      id: '',
      object: 'customer',
      livemode,
      email: checkEmail(body.email),
      first_name: body.first_name === undefined ? '' : checkString('first_name', body.first_name, 0, 255),
      last_name: body.last_name === undefined ? '' : checkString('last_name', body.last_name, 0, 255),
      phone: body.phone === undefined ? null : nullableString('phone', body.phone, 64),
      company_name:
        body.company_name === undefined ? null : nullableString('company_name', body.company_name, 255),
      notes: body.notes === undefined ? null : nullableString('notes', body.notes, 5000),
      metadata: body.metadata === undefined ? null : applyMetadata(null, body.metadata, false),
      stripe_customer_id: null,
      created: now,
      updated: now,
    };
    customer.id = newId('cus_');
    account.customers.set(customer.id, customer);
    return customer;
  }

  #update(account: Account, id: string, body: Record<string, unknown>): Customer {
    const current = this.#find(account, id);
    const next: Customer = { ...current };
    if ('email' in body) next.email = checkEmail(body.email);
    for (const field of ['first_name', 'last_name'] as const) {
      if (field in body) {
        if (body[field] === null) throw invalid('parameter_invalid', `${field} cannot be null.`, field);
        next[field] = checkString(field, body[field], 0, 255);
      }
    }
    if ('phone' in body) next.phone = nullableString('phone', body.phone, 64);
    if ('company_name' in body) next.company_name = nullableString('company_name', body.company_name, 255);
    if ('notes' in body) next.notes = nullableString('notes', body.notes, 5000);
    if ('metadata' in body) next.metadata = applyMetadata(current.metadata, body.metadata, true);
    if (Object.keys(body).length > 0) next.updated = Math.floor(Date.now() / 1000);
    account.customers.set(id, next);
    return next;
  }

  #list(account: Account, query: URLSearchParams): StubResponse {
    this.listRequests++;
    for (const name of query.keys()) {
      if (!LIST_PARAMS.has(name)) throw invalid('parameter_unknown', `Unknown parameter: ${name}.`, name);
    }
    const limit = query.has('limit') ? parseInteger('limit', query.get('limit') as string) : 10;
    if (limit < 1 || limit > 100)
      throw invalid('parameter_invalid', 'limit must be between 1 and 100.', 'limit');
    const after = query.get('starting_after');
    const before = query.get('ending_before');
    if (after !== null && before !== null) {
      throw invalid(
        'parameters_exclusive',
        'starting_after and ending_before cannot be used together.',
        'ending_before',
      );
    }
    for (const [name, cursor] of [
      ['starting_after', after],
      ['ending_before', before],
    ] as const) {
      if (cursor !== null && !CUSTOMER_ID.test(cursor))
        throw invalid('parameter_invalid', `${name} must be a customer id.`, name);
    }
    let rows = [...account.customers.values()];
    const email = query.get('email');
    if (email !== null) rows = rows.filter((c) => c.email.toLowerCase() === email.toLowerCase());
    const created = query.get('created');
    if (created !== null) rows = rows.filter((c) => c.created === parseInteger('created', created));
    const ops: Record<string, (a: number, b: number) => boolean> = {
      gt: (a, b) => a > b,
      gte: (a, b) => a >= b,
      lt: (a, b) => a < b,
      lte: (a, b) => a <= b,
    };
    for (const [op, test] of Object.entries(ops)) {
      const v = query.get(`created[${op}]`);
      if (v !== null) {
        const n = parseInteger(`created[${op}]`, v);
        rows = rows.filter((c) => test(c.created, n));
      }
    }
    let data: Customer[];
    let hasMore: boolean;
    if (before !== null) {
      const newer = rows.filter((c) => c.id > before).sort((a, b) => (a.id < b.id ? -1 : 1)); // oldest first
      data = newer.slice(0, limit).reverse();
      hasMore = newer.length > limit;
    } else {
      const older = rows.filter((c) => after === null || c.id < after).sort((a, b) => (a.id < b.id ? 1 : -1));
      data = older.slice(0, limit);
      hasMore = older.length > limit;
    }
    return { status: 200, body: { object: 'list', url: '/v1/customers', has_more: hasMore, data } };
  }
}

/** A running stub: `server.url` to point the SDK at, `api` to seed and inspect data. */
export async function startStub(
  options: { knownKeys?: string[] } = {},
): Promise<{ server: FaultyServer; api: StubApi }> {
  const api = new StubApi();
  if (options.knownKeys) api.knownKeys = new Set(options.knownKeys);
  const server = await FaultyServer.start(api.handle);
  return { server, api };
}

/** A fresh, well-formed test key: a new, empty account on the stub. */
export function freshKey(mode: 'test' | 'live' = 'test'): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(28);
  return `sk_${mode}_${Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('')}`;
}
