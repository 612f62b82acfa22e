import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe } from 'node:test';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import qs from 'qs';
import * as accounts from '../../src/accounts/accounts.service.js';
import { buildApp } from '../../src/app.js';
import { type Config, type DatabaseConfig, loadConfig } from '../../src/config.js';
import { type Db, openMigrated } from '../../src/db/index.js';
import { ephemeralSecretBox, type SecretBox } from '../../src/secret-key.js';
import { OpenApiChecker } from './openapi.js';

export type DialectName = 'sqlite' | 'postgres';

/** SQLite always; PostgreSQL too when LUNIPAY_TEST_DATABASE_URL names a server. */
export function dialects(): DialectName[] {
  return process.env.LUNIPAY_TEST_DATABASE_URL ? ['sqlite', 'postgres'] : ['sqlite'];
}

/** Runs the same suite once per database, so every storage test runs on both. */
export function forEachDatabase(name: string, suite: (dialect: DialectName) => void): void {
  for (const dialect of dialects()) describe(`${name} [${dialect}]`, () => suite(dialect));
}

/** A fresh, empty database of that dialect: a new SQLite file, or a new PostgreSQL schema. */
export interface FreshDatabase {
  config: DatabaseConfig;
  /** The same database as LUNIPAY_DATABASE_URL, for a server or CLI run as its own process. */
  url: string;
  db: Db;
  drop(): Promise<void>;
}

export async function freshDatabase(dialect: DialectName): Promise<FreshDatabase> {
  const tag = randomBytes(6).toString('hex');
  if (dialect === 'sqlite') {
    const path = join(tmpdir(), `lunipay-test-${tag}.sqlite`);
    const config: DatabaseConfig = { dialect: 'sqlite', path };
    const db = await openMigrated({ database: config });
    return {
      config,
      url: `sqlite:${path}`,
      db,
      async drop() {
        await db.close();
        for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
      },
    };
  }
  const url = process.env.LUNIPAY_TEST_DATABASE_URL as string;
  const schema = `t_${tag}`;
  const config: DatabaseConfig = { dialect: 'postgres', url };
  const db = await openMigrated({ database: config }, { pgSchema: schema, poolSize: 4 });
  const separator = url.includes('?') ? '&' : '?';
  return {
    config,
    url: `${url}${separator}options=${encodeURIComponent(`-c search_path=${schema}`)}`,
    db,
    async drop() {
      await db.close();
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query(`drop schema if exists ${schema} cascade`);
      await client.end();
    },
  };
}

/** How many customer rows the database holds, of every account. */
export async function countCustomers(db: Db): Promise<number> {
  const { n } = await db.kysely
    .selectFrom('customers')
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow();
  return Number(n);
}

/** The stored row of a customer, as it is in the table. */
export function storedCustomer(db: Db, id: string) {
  return db.kysely.selectFrom('customers').selectAll().where('id', '=', id).executeTakeFirst();
}

export interface TestAccount {
  id: string;
  test: string;
  live: string;
  testKeyId: string;
  liveKeyId: string;
}

/** A new account in `db`, with its two secret keys. */
export async function createTestAccount(db: Db, name = 'Test shop'): Promise<TestAccount> {
  const { account, keys } = await accounts.createAccount(db, { name, stripeAccountId: null });
  return {
    id: account.id,
    test: keys.test.secret,
    live: keys.live.secret,
    testKeyId: keys.test.id,
    liveKeyId: keys.live.id,
  };
}

/**
 * For a suite whose server runs as processes of its own: a fresh database with one account,
 * made before its tests and dropped after them (see useHarness for how the stand-ins work).
 */
export function useDatabase(
  dialect: DialectName,
  name?: string,
): { fresh: FreshDatabase; acct: TestAccount } {
  let fresh: FreshDatabase | undefined;
  let acct: TestAccount | undefined;
  before(async () => {
    fresh = await freshDatabase(dialect);
    acct = await createTestAccount(fresh.db, name);
  });
  after(() => fresh?.drop());
  return { fresh: madeLater('database', () => fresh), acct: madeLater('account', () => acct) };
}

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Record<string, string | string[] | undefined>;
  raw: string;
}

export interface RequestOptions {
  key?: string | null;
  /** JSON body (sent as application/json) */
  json?: unknown;
  /** form body, encoded with bracket notation */
  form?: Record<string, unknown>;
  /** raw body with headers as given */
  payload?: string | Buffer;
  query?: Record<string, unknown>;
  headers?: Record<string, string>;
}

export interface Harness {
  app: FastifyInstance;
  db: Db;
  config: Config;
  /** The key this app seals stored secrets with. */
  secretBox: SecretBox;
  /** LUNIPAY_DATABASE_URL for a child process (CLI, worker) to reach this test's database */
  databaseUrl: string;
  /** Every log line written so far. */
  logs(): string;
  account(name?: string): Promise<TestAccount>;
  request<T = any>(method: string, url: string, options?: RequestOptions): Promise<ApiResponse<T>>;
  close(): Promise<void>;
}

export async function startHarness(dialect: DialectName, env: Record<string, string> = {}): Promise<Harness> {
  const fresh = await freshDatabase(dialect);
  const config = {
    ...loadConfig({ LUNIPAY_LOG_LEVEL: 'info', LUNIPAY_RATE_LIMIT: '0', ...env }),
    database: fresh.config,
  };
  const logStream = new PassThrough();
  let logText = '';
  logStream.on('data', (chunk: Buffer) => {
    logText += chunk.toString('utf8');
  });
  const secretBox = ephemeralSecretBox();
  const app = await buildApp({ config, db: fresh.db, logStream, secretBox });
  await app.ready();
  const doc = (await app.inject({ method: 'GET', url: '/v1/openapi.json' })).json();
  const checker = new OpenApiChecker(doc);

  return {
    app,
    db: fresh.db,
    config,
    secretBox,
    databaseUrl: fresh.url,
    logs: () => logText,
    account: (name) => createTestAccount(fresh.db, name),
    async request(method, url, options = {}) {
      const headers: Record<string, string> = { ...(options.headers ?? {}) };
      if (options.key) headers.authorization = `Bearer ${options.key}`;
      let payload: string | Buffer | undefined = options.payload;
      if (options.json !== undefined) {
        headers['content-type'] ??= 'application/json';
        payload = JSON.stringify(options.json);
      } else if (options.form !== undefined) {
        headers['content-type'] ??= 'application/x-www-form-urlencoded';
        payload = qs.stringify(options.form);
      }
      const fullUrl = options.query ? `${url}?${qs.stringify(options.query)}` : url;
      const res = await app.inject({ method: method as 'GET', url: fullUrl, headers, payload });
      let body: any = res.body;
      try {
        body = res.json();
      } catch {}
      const mismatch = checker.check(method, fullUrl, res.statusCode, body);
      if (mismatch) throw new Error(`response does not match the OpenAPI document: ${mismatch}\n${res.body}`);
      return { status: res.statusCode, body, headers: res.headers as ApiResponse['headers'], raw: res.body };
    },
    async close() {
      await app.close();
      await fresh.drop();
    },
  };
}

/**
 * For a suite: a harness and one account of it, made before the suite's tests and closed after
 * them. They exist only once `before` has run, so what is returned stands in for them, passing
 * every use on; it can be destructured at the top of the suite: `const { h, acct } = useHarness(d)`.
 * Call it inside a `describe` (forEachDatabase is one): a file's top-level `before` hooks do not
 * wait for one another, so a later one could run before the harness exists.
 */
export function useHarness(
  dialect: DialectName,
  env: Record<string, string> = {},
): { h: Harness; acct: TestAccount } {
  let h: Harness | undefined;
  let acct: TestAccount | undefined;
  before(async () => {
    h = await startHarness(dialect, env);
    acct = await h.account();
  });
  after(() => h?.close());
  return { h: madeLater('harness', () => h), acct: madeLater('account', () => acct) };
}

/**
 * Stands in for an object that `before` makes: every property read and write goes to it, and its
 * methods are called on it (so classes with private fields work through it too).
 */
export function madeLater<T extends object>(what: string, get: () => T | undefined): T {
  const target = (): T => {
    const value = get();
    if (value === undefined) throw new Error(`the ${what} is used before the suite's before() made it`);
    return value;
  };
  return new Proxy({} as T, {
    get: (_, key) => {
      const object = target();
      const value = Reflect.get(object, key);
      return typeof value === 'function' ? value.bind(object) : value;
    },
    set: (_, key, value) => Reflect.set(target(), key, value),
    has: (_, key) => Reflect.has(target(), key),
    ownKeys: () => Reflect.ownKeys(target()),
    getOwnPropertyDescriptor: (_, key) => Reflect.getOwnPropertyDescriptor(target(), key),
  });
}
