import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { dialects, useDatabase } from './helpers/harness.js';
import { type ServerProcess, type Spawned, spawnEntry, startServer } from './helpers/processes.js';
import { waitFor } from './helpers/receiver.js';

/**
 * Two worker processes on one PostgreSQL database, delivering to a receiver that answers some
 * events slowly and some with a 500 before a 200: every event arrives, no delivery is ever in
 * flight twice at once, and none acknowledged with a 2xx is sent again.
 */

const EVENTS = 24;
/** Below the delivery timeout by far, so no slow answer turns into a timeout and a resend. */
const SLOW_MS = 600;

interface Tally {
  url: string;
  /** the endpoint's signing secret, set once the endpoint exists */
  secret: string;
  /** requests per event id, and the most in flight at once for it */
  seen: Map<string, number>;
  maxInFlight: number;
  acked: Set<string>;
  /** requests for an event already acknowledged, or that did not verify */
  problems: string[];
  close(): Promise<void>;
}

/** Event n (by order of arrival): n % 3 = 0 answers slowly, 1 answers 500 once then 200. */
async function startTally(): Promise<Tally> {
  const inFlight = new Map<string, number>();
  const order = new Map<string, number>();
  const tally: Tally = {
    url: '',
    secret: '',
    seen: new Map(),
    maxInFlight: 0,
    acked: new Set(),
    problems: [],
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const id = String(req.headers['webhook-id']);
      const now = (inFlight.get(id) ?? 0) + 1;
      inFlight.set(id, now);
      tally.maxInFlight = Math.max(tally.maxInFlight, now);
      const count = (tally.seen.get(id) ?? 0) + 1;
      tally.seen.set(id, count);
      if (!order.has(id)) order.set(id, order.size);
      if (tally.acked.has(id)) tally.problems.push(`${id} delivered again after a 2xx`);
      try {
        new Webhook(tally.secret).verify(Buffer.concat(chunks).toString('utf8'), {
          'webhook-id': id,
          'webhook-timestamp': String(req.headers['webhook-timestamp']),
          'webhook-signature': String(req.headers['webhook-signature']),
        });
      } catch {
        tally.problems.push(`${id} did not verify`);
      }
      const n = order.get(id) ?? 0;
      const status = n % 3 === 1 && count === 1 ? 500 : 200;
      const answer = () => {
        inFlight.set(id, (inFlight.get(id) ?? 1) - 1);
        if (status === 200) tally.acked.add(id);
        res.writeHead(status).end('ok');
      };
      if (n % 3 === 0) setTimeout(answer, SLOW_MS);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  tally.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  return tally;
}

if (dialects().includes('postgres')) {
  describe('two worker processes delivering webhooks on one PostgreSQL database', () => {
    const { fresh, acct } = useDatabase('postgres', 'Two workers');
    const secretKey = randomBytes(32).toString('base64');
    const env = () => ({
      LUNIPAY_DATABASE_URL: fresh.url,
      LUNIPAY_SECRET_KEY: secretKey,
      LUNIPAY_WEBHOOK_ALLOW_PRIVATE: 'true',
      LUNIPAY_WEBHOOK_RETRY_SCHEDULE: '200,200,400',
      LUNIPAY_WEBHOOK_TIMEOUT_MS: '5000',
      LUNIPAY_WORKER_WEBHOOK_CONCURRENCY: '4',
      LUNIPAY_LOG_LEVEL: 'info',
    });
    const spawned: Spawned[] = [];
    let tally: Tally | undefined;
    after(async () => {
      await Promise.all(spawned.map((p) => p.kill('SIGKILL')));
      await tally?.close();
    });

    test('every event is received, none in flight twice at once, none sent again after a 2xx', async () => {
      // The API runs no worker of its own: only the two below deliver.
      const server: ServerProcess = await startServer({ ...env(), LUNIPAY_WORKER: 'false' });
      spawned.push(server);
      const api = async (path: string, json: unknown) => {
        const res = await fetch(`${server.url}${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${acct.test}`, 'content-type': 'application/json' },
          body: JSON.stringify(json),
          signal: AbortSignal.timeout(10_000),
        });
        const body = await res.json();
        assert.equal(res.status, 200, JSON.stringify(body));
        return body;
      };
      tally = await startTally();
      const endpoint = await api('/v1/webhook_endpoints', { url: tally.url, enabled_events: ['*'] });
      tally.secret = endpoint.secret;

      const workers = [0, 1].map(() => spawnEntry('worker', [], env()));
      spawned.push(...workers);
      await waitFor(() => workers.every((w) => w.stdout().includes('stripe worker started')), 20_000);
      for (let i = 0; i < EVENTS; i++) await api('/v1/customers', { email: `w${i}@example.com` });

      const t = tally;
      await waitFor(() => t.acked.size === EVENTS, 60_000);
      // Long enough for a wrongly repeated delivery (the schedule's delays are 200–400 ms) to show.
      await new Promise((r) => setTimeout(r, 1500));
      assert.deepEqual(t.problems, []);
      assert.equal(t.maxInFlight, 1, 'a delivery was in flight twice at once');
      assert.equal(t.seen.size, EVENTS);
      const counts = [...t.seen.values()];
      assert.equal(counts.filter((n) => n === 2).length, EVENTS / 3, 'each 500 was retried once');
      assert.ok(
        counts.every((n) => n === 1 || n === 2),
        `${counts}`,
      );
      const rows = await fresh.db.kysely
        .selectFrom('jobs')
        .select('state')
        .where('endpoint_id', '=', endpoint.id)
        .execute();
      assert.equal(rows.length, EVENTS);
      assert.ok(rows.every((r) => r.state === 'succeeded'));
      const exits = await Promise.all(workers.map((w) => w.kill('SIGTERM')));
      assert.deepEqual(
        exits.map((e) => e.code),
        [0, 0],
      );
      const ran = workers.map((w) => w.stdout().split('webhook delivery succeeded').length - 1);
      assert.ok(
        ran.every((n) => n > 0),
        `both workers should have delivered: ${ran}`,
      );
    });
  });
}
