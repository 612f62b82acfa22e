/**
 * The webhook scenarios' side: one enabled endpoint for the measurement, then what the receiver
 * saw. Lag is the receiver's arrival time (ms) minus the event's `created`, which is whole unix
 * seconds: so each lag is known to within a second (it reads up to 1 s high), and the figures
 * tell a delivery pipeline of milliseconds from one of seconds, not finer. With no delivery
 * machinery in the server the receiver sees nothing: 0 delivered, null lags, not an error.
 */

export interface WebhookFigures {
  delivered: number;
  /** Deliveries per second at the receiver, first arrival to last. */
  perSecond: number;
  lagMs: { p50: number | null; p99: number | null };
  lagResolutionMs: number;
  drainedMs: number;
}

interface Arrival {
  id: string | null;
  at: number;
  created: number | null;
}

async function call(url: string, secret: string, method: string, body?: unknown): Promise<{ id: string }> {
  const res = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url} answered ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as { id: string };
}

const stats = async (receiverUrl: string): Promise<Arrival[]> =>
  ((await (await fetch(`${receiverUrl}/stats`)).json()) as { arrivals: Arrival[] }).arrivals;

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0 ? null : (sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] as number);

/**
 * Runs `measure` with an endpoint enabled, deletes it, waits for deliveries to stop arriving
 * (at most `drainMs`), and reports them. Events written outside the measurement (the preflight)
 * count too: they are a handful among thousands.
 */
export async function withEndpoint<T>(
  serverUrl: string,
  secret: string,
  receiverUrl: string,
  drainMs: number,
  measure: () => Promise<T>,
): Promise<{ result: T; webhook: WebhookFigures }> {
  await stats(receiverUrl);
  const endpoint = await call(`${serverUrl}/v1/webhook_endpoints`, secret, 'POST', {
    url: `${receiverUrl}/hooks`,
    enabled_events: ['customer.*'],
  });
  let result: T;
  try {
    result = await measure();
  } finally {
    await call(`${serverUrl}/v1/webhook_endpoints/${endpoint.id}`, secret, 'DELETE');
  }
  // Deliveries queued before the delete may still be on their way: wait until none arrive for 1 s.
  const arrivals: Arrival[] = [];
  const started = Date.now();
  let quietSince = Date.now();
  while (Date.now() - started < drainMs && Date.now() - quietSince < 1000) {
    await new Promise((r) => setTimeout(r, 250));
    const more = await stats(receiverUrl);
    if (more.length > 0) quietSince = Date.now();
    arrivals.push(...more);
  }
  const times = arrivals.map((a) => a.at).sort((a, b) => a - b);
  const spanS = times.length > 1 ? ((times.at(-1) as number) - (times[0] as number)) / 1000 : 0;
  const lags = arrivals
    .filter((a) => typeof a.created === 'number')
    .map((a) => a.at - (a.created as number) * 1000)
    .sort((a, b) => a - b);
  return {
    result,
    webhook: {
      delivered: arrivals.length,
      perSecond: spanS > 0 ? Math.round(arrivals.length / spanS) : 0,
      lagMs: { p50: percentile(lags, 0.5), p99: percentile(lags, 0.99) },
      lagResolutionMs: 1000,
      drainedMs: Date.now() - started,
    },
  };
}
