import type { Generated } from 'kysely';

/** The tables as Kysely sees them: snake_case, exactly as in SQL. */
export interface Database {
  accounts: AccountsTable;
  api_keys: ApiKeysTable;
  customers: CustomersTable;
  idempotency_keys: IdempotencyKeysTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_endpoint_secrets: WebhookEndpointSecretsTable;
  events: EventsTable;
  event_sequences: EventSequencesTable;
  jobs: JobsTable;
  stripe_customers: StripeCustomersTable;
  webhook_attempts: WebhookAttemptsTable;
  customer_search: CustomerSearchTable;
  customer_imports: CustomerImportsTable;
  portal_sessions: PortalSessionsTable;
  portal_sign_ins: PortalSignInsTable;
}

export type Mode = 'test' | 'live';

export interface AccountsTable {
  id: string;
  name: string;
  stripe_account_id: string | null;
  created: number;
}

export interface ApiKeysTable {
  id: string;
  account_id: string;
  mode: Mode;
  /** SHA-256 of the whole secret, hex. The secret itself is never stored. */
  secret_hash: string;
  /** The first characters of the secret, so a person can tell keys apart. */
  secret_start: string;
  created: number;
  revoked: number | null;
}

export interface CustomersTable {
  id: string;
  account_id: string;
  mode: Mode;
  email: string;
  /** Lower-cased email for the case-insensitive filter, computed in one place for both dialects. */
  email_lower: string;
  first_name: string;
  last_name: string;
  phone: string | null;
  company_name: string | null;
  notes: string | null;
  /** JSON text of a non-empty object of strings, or null. */
  metadata: string | null;
  stripe_customer_id: string | null;
  created: number;
  updated: number;
  /** Bumped on every write, so a job can tell which version of the row it was made for. */
  version: Generated<number>;
}

/**
 * One idempotency key of one account and mode. While `in_flight`, the lease says which execution
 * may complete it and until when; once `done`, it holds the response to replay.
 */
export interface IdempotencyKeysTable {
  account_id: string;
  mode: Mode;
  key: string;
  method: string;
  /** The request path with the customer id, e.g. `/v1/customers/cus_…`. */
  path: string;
  /** SHA-256 of the canonical parameters; null once erased with the customer they named. */
  params_hash: string | null;
  state: 'in_flight' | 'done';
  /** Random token of the execution holding the lease; null once done. */
  lease_token: string | null;
  /** Unix milliseconds when the lease runs out; null once done. */
  lease_expires_ms: number | null;
  status: number | null;
  /** The response body as sent, JSON text. */
  body: string | null;
  /** The customer whose data the stored body holds, so deleting it can erase the body too. */
  customer_id: string | null;
  created: number;
}

/** Where one account's events of one mode are delivered. Times are unix seconds. */
export interface WebhookEndpointsTable {
  id: string;
  account_id: string;
  mode: Mode;
  url: string;
  /** JSON text of a non-empty array of event types, `customer.*` or `*`. */
  enabled_events: string;
  description: string | null;
  /** JSON text of a non-empty object of strings, or null. */
  metadata: string | null;
  status: 'enabled' | 'disabled';
  /** The wire format its events are rendered in. */
  api_version: string;
  created: number;
  updated: number;
  /** Unix ms of the first of an unbroken run of failed attempts; null when the last one succeeded. */
  failing_since: number | null;
}

/** One attempt to deliver an event to an endpoint. No bodies: only how it went. Times in unix seconds. */
export interface WebhookAttemptsTable {
  id: string;
  account_id: string;
  mode: Mode;
  endpoint_id: string;
  event_id: string;
  attempt: number;
  status: 'succeeded' | 'failed';
  http_status: number | null;
  error: 'timeout' | 'connection_failed' | 'address_blocked' | 'http_status' | null;
  duration_ms: number;
  created: number;
  next_attempt_at: number | null;
}

/**
 * The signing secrets of one endpoint: the current one (`expires_at` null) and those rolled
 * away that still sign until they expire. Times are unix milliseconds.
 */
export interface WebhookEndpointSecretsTable {
  /** A ULID: newer secrets sort after older ones. */
  id: string;
  endpoint_id: string;
  /** The secret sealed by the SecretBox (AES-256-GCM), bound to the endpoint id; never in clear. */
  secret: string;
  created: number;
  expires_at: number | null;
}

/** One change to a customer, as its merchant learns of it. */
export interface EventsTable {
  id: string;
  account_id: string;
  mode: Mode;
  /** Per account and mode: 1, 2, 3, … in commit order, without gaps (events.store.ts). */
  sequence: number;
  type: 'customer.created' | 'customer.updated' | 'customer.deleted';
  /** The customer the event is about; kept after the customer is deleted. */
  object_id: string;
  created: number;
  api_version: string;
  /** JSON text of `{object, previous_attributes?}`, rendered when the event was written. */
  data: string;
  /** The `Request-Id` of the API request that made the change; null for changes no request made. */
  request_id: string | null;
  idempotency_key: string | null;
  source: 'api' | 'portal' | 'dashboard' | 'cli' | 'stripe_sync' | 'import';
}

/** The last event sequence taken in each account and mode. */
export interface EventSequencesTable {
  account_id: string;
  mode: Mode;
  last: number;
}
export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'dead' | 'cancelled';

/** The outbox: one row per piece of Stripe work. Times are unix milliseconds. */
export interface JobsTable {
  seq: Generated<number>;
  id: string;
  type: string;
  customer_id: string;
  account_id: string;
  mode: Mode;
  /** JSON with a `v` version field; never personal data */
  payload: string;
  state: JobState;
  attempts: Generated<number>;
  /** not before this time */
  run_at: number;
  locked_by: string | null;
  /** a running job whose lease ran out is assumed dead and may be claimed again */
  locked_until: number | null;
  first_attempt_at: number | null;
  attempted_at: number | null;
  last_error: string | null;
  last_error_at: number | null;
  /** how a job ended when it did nothing or was superseded, for operators */
  note: string | null;
  created: number;
  finished_at: number | null;
  /** Jobs of one key run one at a time in `seq` order: the customer for Stripe, `<we>:<cus>` for a delivery. */
  ordering_key: string;
  /** A delivery's event and endpoint; null for other jobs. */
  event_id: string | null;
  endpoint_id: string | null;
}

/** The link from a LuniPay customer to the Stripe customer made for it. Times are unix milliseconds. */
export interface StripeCustomersTable {
  customer_id: string;
  account_id: string;
  mode: Mode;
  stripe_account_id: string;
  stripe_customer_id: string;
  /** JSON array of the metadata keys last sent, so keys removed since can be unset in Stripe */
  metadata_keys: string;
  /**
   * The customer's version whose fields were last pushed to the Stripe customer; null when not
   * known. A customer whose version is past it has changes Stripe has not seen (made while the
   * account was disconnected, say).
   */
  pushed_version: number | null;
  created: number;
  updated: number;
}

/**
 * One row per customer: its searchable fields case-folded (`String#toLowerCase`), written by the
 * customer store in the same statement batch as the customer, so search never lags a write. The
 * trigram indexes (FTS5 on SQLite, pg_trgm GIN on PostgreSQL) are built over these columns.
 */
export interface CustomerSearchTable {
  /** SQLite: the FTS5 table's rowid. PostgreSQL: a serial, unused. */
  seq?: number;
  customer_id: string;
  email: string;
  /** The email's runs of six digits, space-separated (search-row.ts digitWindows); null for none. */
  email_windows: string | null;
  /** First and last name, the non-empty ones joined by one space. */
  name: string;
  first_name: string;
  last_name: string;
  phone: string | null;
  /** The phone's runs of six digits, space-separated (search-row.ts digitWindows); null for none. */
  phone_windows: string | null;
  company_name: string | null;
  /** JSON object of the metadata with its values folded (keys as given); null without metadata. */
  metadata: string | null;
}

/** Which customer an import made from which row content, so a second run of a file creates nothing. */
export interface CustomerImportsTable {
  account_id: string;
  mode: Mode;
  /** SHA-256 of the row's parsed fields, hex. */
  row_hash: string;
  customer_id: string;
  created: number;
}

/** A way into the customer portal and the browser session it started. Times are unix seconds. */
export interface PortalSessionsTable {
  id: string;
  account_id: string;
  mode: Mode;
  customer_id: string;
  /** `api`: a merchant made it; `login`: the customer signed in by email. */
  source: 'api' | 'login';
  return_url: string | null;
  /** SHA-256 of the merchant link's token; null once used, and for sign-ins by email. */
  token_hash: string | null;
  /** SHA-256 of the browser session id in the cookie; replaced at every rotation. */
  browser_hash: string | null;
  created: number;
  /** Until when the merchant link can be opened. */
  expires_at: number;
  opened_at: number | null;
  last_active_at: number | null;
  /** Signed out by the customer. */
  ended_at: number | null;
  revoked_at: number | null;
}

/** A link and a code by mail: to sign in, or to confirm a new email address. Unix seconds. */
export interface PortalSignInsTable {
  id: string;
  account_id: string;
  mode: Mode;
  purpose: 'login' | 'email_change';
  /** SHA-256 of account, mode and the lower-cased address: the per-address limit counts these. */
  address_hash: string;
  /** SHA-256 of the client's address: the per-client limit counts these. */
  client_hash: string;
  /** SHA-256 of the random value in the cookie of the browser that asked: the code works only there. */
  device_hash: string;
  /** JSON array of the customers the address belonged to when asked (empty when none). */
  customer_ids: string;
  /** For an email change: the portal session that asked for it. */
  session_id: string | null;
  /** For an email change: the address to confirm; cleared once applied. */
  new_email: string | null;
  /** For an email change once applied: the address to tell; cleared once told. */
  old_email: string | null;
  /** 1 when a mail was queued; 0 when a limit held it back. */
  mailed: number;
  token_hash: string | null;
  code_hash: string | null;
  /** Once used by several customers' address: SHA-256 of the cookie value that lets one be chosen. */
  choice_hash: string | null;
  failed_codes: Generated<number>;
  created: number;
  expires_at: number;
  used_at: number | null;
  voided_at: number | null;
}
