import { createHmac } from 'node:crypto';
import { parseArgs } from 'node:util';
import { SECRET_PREFIX, signatureHeaders } from './webhooks.signing.js';

/**
 * `lunipay listen`: follows the event feed over HTTP with a secret key, as any consumer would
 * (no database, no public URL), prints each event as one JSON line and, with `--forward-to`,
 * posts it to a local receiver signed exactly as a delivery. The process (signals, exit
 * status) stays with cli.ts; this module gets an abort signal and two writers.
 */

export const LISTEN_USAGE =
  'listen --api-key sk_test_… [--api-base URL] [--forward-to URL] [--events TYPE] [--since-sequence N]';

export interface ListenIo {
  stdout(line: string): void;
  stderr(line: string): void;
  /** Aborted on SIGINT or SIGTERM: the command then returns 0. */
  signal: AbortSignal;
}

/** Poll again this soon when the feed is caught up; immediately while it says `has_more`. */
const IDLE_MS = 500;
/** After a failed poll: doubling from the first, up to the last, until the API answers again. */
const BACKOFF_MS = [250, 10_000] as const;
/** Forwarding: attempts per event and the wait before each retry; then it moves on. */
const FORWARD_RETRY_MS = [500, 2000];
const FORWARD_TIMEOUT_MS = 15_000;
const PAGE = 100;
/** Fixed, so one key always gives one secret; changing it would change every user's secret. */
const SECRET_LABEL = 'lunipay listen signing secret v1';

/**
 * The secret `listen` signs with: an HMAC of the API key, so the same key gives the same secret
 * on every run (a receiver configured once keeps working) and the key cannot be read back from
 * it. Same shape as an endpoint's secret: `whsec_` and the base64 of 32 bytes.
 */
export function listenSecret(apiKey: string): string {
  return `${SECRET_PREFIX}${createHmac('sha256', apiKey).update(SECRET_LABEL).digest('base64')}`;
}

/** Ends the command with exit status 2: a bad argument, a refused key, a filter the API refuses. */
export class ListenError extends Error {}

interface Options {
  apiKey: string;
  apiBase: string;
  forwardTo: string | undefined;
  /** The API's `type` filter; undefined for every type. */
  type: string | undefined;
  sinceSequence: number | undefined;
}

function parseOptions(args: string[]): Options {
  let values: Record<string, string | undefined>;
  try {
    const parsed = parseArgs({
      args,
      options: {
        'api-key': { type: 'string' },
        'api-base': { type: 'string' },
        'forward-to': { type: 'string' },
        events: { type: 'string' },
        'since-sequence': { type: 'string' },
      },
      allowPositionals: false,
      strict: true,
    });
    values = parsed.values;
  } catch (error) {
    // Node's messages may run over several lines; the first says what is wrong.
    throw new ListenError((error as Error).message.split('\n')[0] as string);
  }
  const apiKey = values['api-key'];
  if (!apiKey) throw new ListenError('--api-key sk_test_… is required.');
  if (!/^sk_(test|live)_\S+$/.test(apiKey)) throw new ListenError('--api-key must be a secret key, sk_….');
  const apiBase = httpUrl(values['api-base'] ?? 'http://127.0.0.1:4242', '--api-base').replace(/\/+$/, '');
  const forwardTo =
    values['forward-to'] === undefined ? undefined : httpUrl(values['forward-to'], '--forward-to');
  const events = values.events;
  if (events === '') throw new ListenError('--events needs an event type, e.g. customer.* .');
  const since = values['since-sequence'];
  if (since !== undefined && !/^\d{1,15}$/.test(since))
    throw new ListenError(`--since-sequence must be a whole number ≥ 0, not '${since}'.`);
  return {
    apiKey,
    apiBase,
    forwardTo,
    type: events === undefined || events === '*' ? undefined : events,
    sinceSequence: since === undefined ? undefined : Number(since),
  };
}

function httpUrl(value: string, flag: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ListenError(`${flag} must be an http or https URL, not '${value}'.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ListenError(`${flag} must be an http or https URL, not '${value}'.`);
  return url.toString();
}

interface FeedEvent {
  id: string;
  type: string;
  sequence: number;
}
interface ErrorBody {
  error?: { message?: string };
}
interface Page {
  data: FeedEvent[];
  has_more: boolean;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/**
 * One GET of the API, retried with backoff on anything that may pass (network errors, 429, 5xx)
 * and reported on stderr once per outage. Undefined once aborted.
 */
async function get(options: Options, path: string, io: ListenIo): Promise<Page | undefined> {
  let delay: number = BACKOFF_MS[0];
  let failing = false;
  while (!io.signal.aborted) {
    let problem: string;
    try {
      const res = await fetch(`${options.apiBase}${path}`, {
        headers: { authorization: `Bearer ${options.apiKey}`, 'user-agent': 'lunipay-listen' },
        signal: AbortSignal.any([io.signal, AbortSignal.timeout(30_000)]),
      });
      const body = (await res.json().catch(() => undefined)) as (Page & ErrorBody) | undefined;
      if (res.ok && body !== undefined) {
        if (failing) io.stderr('lunipay listen: the API answers again.');
        return body;
      }
      const message = body?.error?.message ?? `HTTP ${res.status}`;
      if (res.status === 401) throw new ListenError(`the API refused the key: ${message}`);
      if (res.status !== 429 && res.status < 500)
        throw new ListenError(`the API refused the request: ${message}`);
      problem = `${res.status} ${message}`;
    } catch (error) {
      if (error instanceof ListenError) throw error;
      if (io.signal.aborted) return undefined;
      problem = (error as Error).cause ? String((error as Error).cause) : (error as Error).message;
    }
    io.stderr(
      `lunipay listen: cannot read ${options.apiBase}/v1/events (${problem}); retrying in ${delay} ms.`,
    );
    failing = true;
    await sleep(delay, io.signal);
    delay = Math.min(delay * 2, BACKOFF_MS[1]);
  }
  return undefined;
}

/** Posts one event as a delivery would, retrying a few times; failures are reported, never fatal. */
async function forward(url: string, secret: string, event: FeedEvent, io: ListenIo): Promise<void> {
  const body = JSON.stringify(event);
  for (let attempt = 0; attempt <= FORWARD_RETRY_MS.length; attempt++) {
    if (io.signal.aborted) return;
    let outcome: string;
    try {
      // Signed afresh per attempt, like a delivery: each has its own timestamp.
      const headers = signatureHeaders({
        body,
        timestamp: Math.floor(Date.now() / 1000),
        eventId: event.id,
        secrets: [secret],
      });
      const res = await fetch(url, {
        method: 'POST',
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.any([io.signal, AbortSignal.timeout(FORWARD_TIMEOUT_MS)]),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) {
        io.stderr(`lunipay listen: ${event.type} ${event.id} → ${res.status}`);
        return;
      }
      outcome = `HTTP ${res.status}`;
    } catch (error) {
      if (io.signal.aborted) return;
      outcome = (error as Error).cause ? String((error as Error).cause) : (error as Error).message;
    }
    const wait = FORWARD_RETRY_MS[attempt];
    if (wait === undefined) {
      io.stderr(
        `lunipay listen: forwarding ${event.id} to ${url} failed (${outcome}) after ${attempt + 1} attempts; moving on.`,
      );
      return;
    }
    io.stderr(`lunipay listen: forwarding ${event.id} failed (${outcome}); retrying in ${wait} ms.`);
    await sleep(wait, io.signal);
  }
}

async function follow(options: Options, io: ListenIo): Promise<void> {
  const secret = listenSecret(options.apiKey);
  let after = options.sinceSequence;
  if (after === undefined) {
    // The newest event of any type: listening shows what happens from now on.
    const newest = await get(options, '/v1/events?limit=1', io);
    if (newest === undefined) return;
    after = newest.data[0]?.sequence ?? 0;
  }
  const filter = options.type === undefined ? '' : `&type=${encodeURIComponent(options.type)}`;
  let announced = false;
  while (!io.signal.aborted) {
    const page = await get(options, `/v1/events?sequence_after=${after}&limit=${PAGE}${filter}`, io);
    if (page === undefined) return;
    // Once the API has accepted the key and the filter, so a refusal stays the only line.
    if (!announced) {
      const where = options.forwardTo ? `, forwarding to ${options.forwardTo}` : '';
      io.stderr(`lunipay listen: following ${options.apiBase} after sequence ${after}${where}.`);
      if (options.forwardTo) io.stderr(`lunipay listen: the signing secret is ${secret}`);
      announced = true;
    }
    for (const event of page.data) {
      io.stdout(JSON.stringify(event));
      if (options.forwardTo) await forward(options.forwardTo, secret, event, io);
      after = event.sequence;
      if (io.signal.aborted) return;
    }
    if (!page.has_more) await sleep(IDLE_MS, io.signal);
  }
}

/** Runs `listen ARGS` until the signal aborts. Returns the exit status: 0, or 2 with one line on stderr. */
export async function listenCommand(args: string[], io: ListenIo): Promise<number> {
  try {
    await follow(parseOptions(args), io);
    return 0;
  } catch (error) {
    if (!(error instanceof ListenError)) throw error;
    io.stderr(`lunipay: ${error.message} (see lunipay --help)`);
    return 2;
  }
}
