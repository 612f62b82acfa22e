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
  readonly events: EventsConfig;
}

/**
 * Idempotency keys (contract section 8):
 * - `LUNIPAY_IDEMPOTENCY_LEASE_MS` (default 30000, 100–3600000): how long a request holds its key
 *   before another may take it over. It only matters when a process dies mid-request: the key
 *   answers 409 until the lease runs out, then a retry runs it (still exactly once).
 * - `LUNIPAY_IDEMPOTENCY_RETENTION_HOURS` (default 24, 24–8760): records this old are pruned. The
 *   contract keeps keys at least 24 hours, so less is refused.
 * - `LUNIPAY_IDEMPOTENCY_SWEEP_SECONDS` (default 600, 0–86400): how often each process prunes;
 *   `0` turns the sweep off (when another process or a scheduled job does it).
 */
export interface IdempotencyConfig {
  readonly leaseMs: number;
  readonly retentionHours: number;
  readonly sweepSeconds: number;
}

/**
 * The event log (contract section 10):
 * - `LUNIPAY_EVENT_RETENTION_DAYS` (default 30, 30–3650): events this old are pruned. The
 *   contract keeps events at least 30 days, so less is refused.
 * - `LUNIPAY_EVENT_SWEEP_SECONDS` (default 3600, 0–86400): how often each process prunes; `0`
 *   turns the sweep off.
 */
export interface EventsConfig {
  readonly retentionDays: number;
  readonly sweepSeconds: number;
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

function stripeKey(env: Env, name: string, prefix: string): string | undefined {
  const key = nonEmpty(env, name);
  if (key !== undefined && !key.startsWith(prefix) && !key.startsWith(prefix.replace('sk_', 'rk_'))) {
    throw new ConfigError(`${name} must be a Stripe secret key starting with ${prefix}.`);
  }
  return key;
}

function redisUrl(env: Env): string | undefined {
  const url = nonEmpty(env, 'LUNIPAY_REDIS_URL');
  if (url !== undefined && !/^rediss?:\/\/[^/]+/.test(url)) {
    throw new ConfigError(`LUNIPAY_REDIS_URL must be a redis:// or rediss:// URL.`);
  }
  return url;
}

export function loadConfig(env: Env): Config {
  const logLevel = nonEmpty(env, 'LUNIPAY_LOG_LEVEL') ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError(`LUNIPAY_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got '${logLevel}'.`);
  }
  const apiBase = nonEmpty(env, 'STRIPE_API_BASE');
  if (apiBase !== undefined && !/^https?:\/\/[^/]+\/?$/.test(apiBase)) {
    throw new ConfigError(
      `STRIPE_API_BASE must be an http(s) origin such as http://127.0.0.1:12111, got '${apiBase}'.`,
    );
  }
  const config: Config = {
    host: nonEmpty(env, 'HOST') ?? '127.0.0.1',
    port: integer(env, 'PORT', 4242, 0, 65535),
    database: parseDatabaseUrl(nonEmpty(env, 'LUNIPAY_DATABASE_URL') ?? 'sqlite:./data/lunipay.sqlite'),
    stripe: {
      liveKey: stripeKey(env, 'STRIPE_SECRET_KEY', 'sk_live_'),
      testKey: stripeKey(env, 'STRIPE_TEST_SECRET_KEY', 'sk_test_'),
      apiBase,
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
    events: Object.freeze({
      retentionDays: integer(env, 'LUNIPAY_EVENT_RETENTION_DAYS', 30, 30, 3650),
      sweepSeconds: integer(env, 'LUNIPAY_EVENT_SWEEP_SECONDS', 3600, 0, 86_400),
    }),
  };
  return Object.freeze(config);
}
