import { dirname, join } from 'node:path';

/**
 * Configuration is data: read from the environment once at start, validated, frozen and passed
 * into whatever needs it. No module reads `process.env` on its own.
 */

export type DatabaseConfig = { dialect: 'sqlite'; path: string } | { dialect: 'postgres'; url: string };

export interface Config {
  readonly host: string;
  readonly port: number;
  readonly database: DatabaseConfig;
  readonly stripe: {
    readonly liveKey: string | undefined;
    readonly testKey: string | undefined;
    readonly apiBase: string | undefined;
  };
  readonly rateLimit: number;
  /**
   * How long a client may take to send a whole request, headers and body
   * (`LUNIPAY_REQUEST_TIMEOUT_MS`, default 30000, 1000–600000); the headers alone get at most 10 s
   * of it. A slow client is then cut off instead of holding a connection forever.
   */
  readonly requestTimeoutMs: number;
  /**
   * PostgreSQL: a query with no answer after this long fails with a 503 and its connection is
   * closed (`LUNIPAY_DB_QUERY_TIMEOUT_MS`, default 10000, 100–600000), so a database that stops
   * answering without refusing (a network partition) cannot hold requests indefinitely.
   */
  readonly dbQueryTimeoutMs: number;
  /** Redis for rate-limit counters shared between processes; in memory when unset. */
  readonly redisUrl: string | undefined;
  readonly logLevel: LogLevel;
  /** Whether this process runs the Stripe provisioning worker next to the API. */
  readonly worker: boolean;
  readonly idempotency: IdempotencyConfig;
  readonly secrets: SecretsConfig;
  readonly webhooks: WebhooksConfig;
  readonly events: EventsConfig;
  readonly search: SearchConfig;
  /**
   * `LUNIPAY_PUBLIC_URL`: the origin customers reach the server at (default `http://HOST:PORT`).
   * Every portal link and redirect is built from it, never from a request's `Host`.
   */
  readonly publicUrl: string;
  readonly mail: MailConfig;
}

/**
 * Mail (portal sign-in links and notices):
 * - `LUNIPAY_SMTP_URL`: `smtp://user:pass@host:port` or `smtps://…`; unset, each mail is written
 *   as an `.eml` file to `LUNIPAY_MAIL_DIR` (default `./data/mail`), so nothing needs installing.
 * - `LUNIPAY_MAIL_FROM` (default `no-reply@localhost`): the sender address; its display name is
 *   the merchant's account name.
 */
export interface MailConfig {
  readonly smtpUrl: string | undefined;
  readonly dir: string;
  readonly from: string;
}

/**
 * The key that encrypts stored secrets (webhook signing secrets) with AES-256-GCM:
 * `LUNIPAY_SECRET_KEY`, 32 bytes in base64; when unset, the key in `LUNIPAY_SECRET_KEY_FILE`
 * (default `secret.key` beside the SQLite database, or `./data/secret.key` with PostgreSQL),
 * created on first start. Loaded by the entry points (secret-key.ts), never at import.
 */
export interface SecretsConfig {
  readonly key: string | undefined;
  readonly keyFile: string;
}

export interface WebhooksConfig {
  /**
   * `LUNIPAY_WEBHOOK_ALLOW_PRIVATE=true` lifts the address rules (loopback, private and other
   * internal ranges, `localhost`), for local development only.
   */
  readonly allowPrivate: boolean;
  /** `LUNIPAY_WEBHOOK_TIMEOUT_MS` (default 15000, 1000–60000): a receiver's time to answer. */
  readonly timeoutMs: number;
  /**
   * `LUNIPAY_WEBHOOK_RETRY_SCHEDULE`: comma-separated delays in ms before each retry, used as
   * given (no jitter); undefined for the default schedule (5 s … 24 h, ±20 % jitter).
   */
  readonly retryScheduleMs: readonly number[] | undefined;
  /** `LUNIPAY_WORKER_STRIPE_CONCURRENCY` (default 4) and `LUNIPAY_WORKER_WEBHOOK_CONCURRENCY` (default 32). */
  readonly stripeConcurrency: number;
  readonly webhookConcurrency: number;
}

/**
 * Idempotency keys:
 * - `LUNIPAY_IDEMPOTENCY_LEASE_MS` (default 30000, 100–3600000): how long a request holds its key
 *   before another may take it over. It only matters when a process dies mid-request: the key
 *   answers 409 until the lease runs out, then a retry runs it (still exactly once).
 * - `LUNIPAY_IDEMPOTENCY_RETENTION_HOURS` (default 24, 24–8760): records this old are pruned.
 *   Records are kept at least 24 hours (a day of retries), so less is refused.
 * - `LUNIPAY_IDEMPOTENCY_SWEEP_SECONDS` (default 600, 0–86400): how often each process prunes;
 *   `0` turns the sweep off (when another process or a scheduled job does it).
 */
export interface IdempotencyConfig {
  readonly leaseMs: number;
  readonly retentionHours: number;
  readonly sweepSeconds: number;
}

/**
 * The event log:
 * - `LUNIPAY_EVENT_RETENTION_DAYS` (default 30, 30–3650): events this old are pruned. Events are
 *   kept at least 30 days, so less is refused.
 * - `LUNIPAY_EVENT_SWEEP_SECONDS` (default 3600, 0–86400): how often each process prunes; `0`
 *   turns the sweep off.
 */
export interface EventsConfig {
  readonly retentionDays: number;
  readonly sweepSeconds: number;
}

/**
 * Customer search:
 * - `LUNIPAY_SEARCH_UPKEEP_SECONDS` (default 5, 0–3600): how often each process tidies the
 *   search indexes that writes leave untidy (search/search.upkeep.ts); `0` turns it off, and
 *   writes then do that work themselves, now and then, in one larger step.
 */
export interface SearchConfig {
  readonly upkeepSeconds: number;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

function nonEmpty(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got '${raw}'.`);
  }
  return Number(raw);
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got '${raw}'.`);
}

export function parseDatabaseUrl(raw: string, name = 'LUNIPAY_DATABASE_URL'): DatabaseConfig {
  if (/^postgres(ql)?:\/\//.test(raw)) {
    try {
      new URL(raw);
    } catch {
      throw new ConfigError(`${name} is not a valid PostgreSQL URL.`);
    }
    return { dialect: 'postgres', url: raw };
  }
  const path = raw.startsWith('sqlite:') ? raw.slice('sqlite:'.length) : raw;
  if (path === '' || /^[a-z][a-z0-9+.-]*:\/\//i.test(path)) {
    throw new ConfigError(`${name} must be postgres://…, sqlite:PATH or a file path.`);
  }
  return { dialect: 'sqlite', path };
}

/**
 * The one check of the Stripe keys; the gateway takes them as given. A live key in the test slot
 * would put test customers into real accounts, and the other way round. The key is not echoed.
 */
function stripeKey(env: Env, name: string, mode: 'test' | 'live'): string | undefined {
  const key = nonEmpty(env, name);
  if (key !== undefined && !new RegExp(`^(sk|rk)_${mode}_`).test(key)) {
    throw new ConfigError(
      `${name} must be a ${mode}-mode Stripe key, starting with sk_${mode}_ or rk_${mode}_.`,
    );
  }
  return key;
}

/**
 * The one check of the Stripe API base: an http(s) origin, since the SDK always requests /v1/…
 * from the host root and a path prefix cannot be honoured.
 */
function stripeApiBase(env: Env): string | undefined {
  const apiBase = nonEmpty(env, 'STRIPE_API_BASE');
  if (apiBase === undefined) return undefined;
  const url = URL.canParse(apiBase) ? new URL(apiBase) : undefined;
  if (!/^https?:\/\/[^/]+\/?$/.test(apiBase) || !url || url.search !== '' || url.hash !== '') {
    throw new ConfigError(
      `STRIPE_API_BASE must be an http(s) origin with no path, query or fragment, such as http://127.0.0.1:12111, got '${apiBase}'.`,
    );
  }
  return apiBase;
}

function retrySchedule(env: Env): readonly number[] | undefined {
  const raw = nonEmpty(env, 'LUNIPAY_WEBHOOK_RETRY_SCHEDULE');
  if (raw === undefined) return undefined;
  const parts = raw.split(',').map((p) => p.trim());
  if (parts.length > 50 || !parts.every((p) => /^\d{1,9}$/.test(p))) {
    throw new ConfigError(
      `LUNIPAY_WEBHOOK_RETRY_SCHEDULE must be up to 50 comma-separated delays in ms, such as 200,200,400, got '${raw}'.`,
    );
  }
  return Object.freeze(parts.map(Number));
}

function redisUrl(env: Env): string | undefined {
  const url = nonEmpty(env, 'LUNIPAY_REDIS_URL');
  if (url !== undefined && !/^rediss?:\/\/[^/]+/.test(url)) {
    throw new ConfigError(`LUNIPAY_REDIS_URL must be a redis:// or rediss:// URL.`);
  }
  return url;
}

function secretsConfig(env: Env, database: DatabaseConfig): SecretsConfig {
  const key = nonEmpty(env, 'LUNIPAY_SECRET_KEY');
  if (key !== undefined && (!/^[A-Za-z0-9+/]{43}=$/.test(key) || Buffer.from(key, 'base64').length !== 32)) {
    throw new ConfigError(
      'LUNIPAY_SECRET_KEY must be 32 bytes in base64 (44 characters), e.g. from `openssl rand -base64 32`.',
    );
  }
  const beside =
    database.dialect === 'sqlite' && database.path !== ':memory:' ? dirname(database.path) : './data';
  return Object.freeze({
    key,
    keyFile: nonEmpty(env, 'LUNIPAY_SECRET_KEY_FILE') ?? join(beside, 'secret.key'),
  });
}

function publicUrl(env: Env, host: string, port: number): string {
  const raw = nonEmpty(env, 'LUNIPAY_PUBLIC_URL');
  if (raw === undefined) return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const url = URL.canParse(raw) ? new URL(raw) : undefined;
  if (!url || !/^https?:$/.test(url.protocol) || !/^https?:\/\/[^/]+\/?$/.test(raw) || url.username !== '') {
    throw new ConfigError(
      `LUNIPAY_PUBLIC_URL must be an http(s) origin with no path, such as https://pay.example.com, got '${raw}'.`,
    );
  }
  return url.origin;
}

function mailConfig(env: Env): MailConfig {
  const smtpUrl = nonEmpty(env, 'LUNIPAY_SMTP_URL');
  if (smtpUrl !== undefined && (!/^smtps?:\/\/[^/]+/.test(smtpUrl) || !URL.canParse(smtpUrl))) {
    // The URL may hold a password: it is not echoed.
    throw new ConfigError('LUNIPAY_SMTP_URL must be an smtp:// or smtps:// URL.');
  }
  const from = nonEmpty(env, 'LUNIPAY_MAIL_FROM') ?? 'no-reply@localhost';
  if (!/^[^\s@<>",]+@[^\s@<>",]+$/.test(from)) {
    throw new ConfigError(
      `LUNIPAY_MAIL_FROM must be a bare address such as no-reply@example.com, got '${from}'.`,
    );
  }
  return Object.freeze({ smtpUrl, dir: nonEmpty(env, 'LUNIPAY_MAIL_DIR') ?? './data/mail', from });
}

export function loadConfig(env: Env): Config {
  const logLevel = nonEmpty(env, 'LUNIPAY_LOG_LEVEL') ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError(`LUNIPAY_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got '${logLevel}'.`);
  }
  const database = parseDatabaseUrl(nonEmpty(env, 'LUNIPAY_DATABASE_URL') ?? 'sqlite:./data/lunipay.sqlite');
  const host = nonEmpty(env, 'HOST') ?? '127.0.0.1';
  const port = integer(env, 'PORT', 4242, 0, 65535);
  const config: Config = {
    host,
    port,
    database,
    stripe: {
      liveKey: stripeKey(env, 'STRIPE_SECRET_KEY', 'live'),
      testKey: stripeKey(env, 'STRIPE_TEST_SECRET_KEY', 'test'),
      apiBase: stripeApiBase(env),
    },
    rateLimit: integer(env, 'LUNIPAY_RATE_LIMIT', 1000, 0, 1_000_000),
    requestTimeoutMs: integer(env, 'LUNIPAY_REQUEST_TIMEOUT_MS', 30_000, 1000, 600_000),
    dbQueryTimeoutMs: integer(env, 'LUNIPAY_DB_QUERY_TIMEOUT_MS', 10_000, 100, 600_000),
    redisUrl: redisUrl(env),
    logLevel: logLevel as LogLevel,
    worker: boolean(env, 'LUNIPAY_WORKER', true),
    idempotency: Object.freeze({
      leaseMs: integer(env, 'LUNIPAY_IDEMPOTENCY_LEASE_MS', 30_000, 100, 3_600_000),
      retentionHours: integer(env, 'LUNIPAY_IDEMPOTENCY_RETENTION_HOURS', 24, 24, 8760),
      sweepSeconds: integer(env, 'LUNIPAY_IDEMPOTENCY_SWEEP_SECONDS', 600, 0, 86_400),
    }),
    secrets: secretsConfig(env, database),
    webhooks: Object.freeze({
      allowPrivate: boolean(env, 'LUNIPAY_WEBHOOK_ALLOW_PRIVATE', false),
      timeoutMs: integer(env, 'LUNIPAY_WEBHOOK_TIMEOUT_MS', 15_000, 1000, 60_000),
      retryScheduleMs: retrySchedule(env),
      stripeConcurrency: integer(env, 'LUNIPAY_WORKER_STRIPE_CONCURRENCY', 4, 1, 64),
      webhookConcurrency: integer(env, 'LUNIPAY_WORKER_WEBHOOK_CONCURRENCY', 32, 1, 256),
    }),
    events: Object.freeze({
      retentionDays: integer(env, 'LUNIPAY_EVENT_RETENTION_DAYS', 30, 30, 3650),
      sweepSeconds: integer(env, 'LUNIPAY_EVENT_SWEEP_SECONDS', 3600, 0, 86_400),
    }),
    search: Object.freeze({
      upkeepSeconds: integer(env, 'LUNIPAY_SEARCH_UPKEEP_SECONDS', 5, 0, 3600),
    }),
    publicUrl: publicUrl(env, host, port),
    mail: mailConfig(env),
  };
  return Object.freeze(config);
}
