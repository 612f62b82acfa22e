import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type DialectName, forEachDatabase, useDatabase } from './helpers/harness.js';
import { startServer } from './helpers/processes.js';
import { WriteTracker } from './helpers/writes.js';

/**
 * Graceful shutdown under load. SIGTERM: every request the server had received is answered in
 * full (none reset, none cut short), a request that arrives afterwards on a kept-alive connection
 * gets a proper 503 (or finds the port closed), the process exits 0, and every acknowledged write
 * is there. (Two server processes sharing a rate limit: rate-limit.system.test.ts.)
 */

interface Sample {
  kind: 'write' | 'read';
  start: number;
  end: number;
  /** The status, or how the connection failed. */
  status: number | string;
  body: unknown;
}

/** The undici error code under fetch's "fetch failed" (ECONNREFUSED, UND_ERR_SOCKET, …). */
function failure(error: unknown): string {
  let e = error as { code?: string; cause?: unknown; name?: string } | undefined;
  while (e?.cause) e = e.cause as typeof e;
  return e?.code ?? e?.name ?? 'unknown';
}

const PROPER_ENVELOPE = (body: unknown) => {
  const error = (body as { error?: Record<string, unknown> }).error;
  return (
    error !== undefined &&
    Object.keys(body as object).length === 1 &&
    typeof error.code === 'string' &&
    typeof error.type === 'string' &&
    typeof error.message === 'string'
  );
};

forEachDatabase('shutdown: SIGTERM under load', (dialect: DialectName) => {
  const { fresh, acct } = useDatabase(dialect, 'Shutdown shop');

  test('every answer whole, no request executed without its answer, exit 0 at once, nothing lost', async (t) => {
    const env = { LUNIPAY_DATABASE_URL: fresh.url };
    const server = await startServer(env);
    const writes = new WriteTracker();
    const samples: Sample[] = [];
    let down = false;

    const request = async (kind: Sample['kind'], path: string, init: RequestInit = {}): Promise<Sample> => {
      const start = Date.now();
      try {
        const res = await fetch(`${server.url}${path}`, {
          ...init,
          headers: { authorization: `Bearer ${acct.test}`, 'content-type': 'application/json' },
          signal: AbortSignal.timeout(30_000),
        });
        // The body is read to the end: a response cut short fails here.
        const text = await res.text();
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {}
        return { kind, start, end: Date.now(), status: res.status, body };
      } catch (error) {
        return { kind, start, end: Date.now(), status: failure(error), body: null };
      }
    };
    const writer = async (w: number) => {
      while (!down) {
        const write = writes.next(w);
        const sample = await request('write', write.path, {
          method: 'POST',
          body: JSON.stringify(write.body),
        });
        samples.push(sample);
        writes.record(
          w,
          write,
          typeof sample.status === 'number' ? { status: sample.status, body: sample.body } : 'no answer',
          [503],
        );
        if (typeof sample.status !== 'number') down = true;
      }
    };
    const reader = async () => {
      while (!down) {
        const sample = await request('read', '/v1/customers?limit=20');
        samples.push(sample);
        if (typeof sample.status !== 'number') down = true;
      }
    };

    const load = Promise.all([
      ...Array.from({ length: 12 }, (_, w) => writer(w)),
      ...Array.from({ length: 4 }, reader),
    ]);
    await sleep(800);
    const sigtermAt = Date.now();
    process.kill(server.pid, 'SIGTERM');
    const { code, signal } = await server.exited;
    const exitedAt = Date.now();
    down = true;
    await load;
    assert.equal(code, 0, `exit ${code ?? signal}`);

    // Every answer is whole: a 200 with its JSON body, or the 503 envelope of a server shutting down.
    // A request that got no answer (its connection closed or refused) must never have been executed:
    // no unanswered write is found committed below.
    const inFlight = samples.filter((s) => s.start < sigtermAt && s.end >= sigtermAt);
    const later = samples.filter((s) => s.end >= sigtermAt);
    for (const s of samples.filter((s) => s.end < sigtermAt)) assert.equal(s.status, 200, JSON.stringify(s));
    for (const s of later) {
      if (typeof s.status === 'number') {
        assert.ok(s.status === 200 || s.status === 503, JSON.stringify(s));
        if (s.status === 503) {
          assert.ok(PROPER_ENVELOPE(s.body), `not the error envelope: ${JSON.stringify(s)}`);
          assert.equal((s.body as { error: { code: string } }).error.code, 'service_unavailable');
        }
      } else {
        assert.ok(['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET'].includes(s.status), JSON.stringify(s));
      }
    }

    const restarted = await startServer(env);
    let strays: number;
    try {
      strays = await writes.verifyAll(restarted.url, acct.test, fresh.db);
    } finally {
      await restarted.kill('SIGTERM');
    }
    assert.equal(writes.stats.pendingCommitted, 0, 'an update was executed but its answer never arrived');
    assert.equal(strays, 0, 'a create was executed but its answer never arrived');
    const tally = (list: Sample[]) => {
      const counts = new Map<string, number>();
      for (const s of list) counts.set(String(s.status), (counts.get(String(s.status)) ?? 0) + 1);
      return [...counts.entries()].map(([k, n]) => `${n}×${k}`).join(', ');
    };
    t.diagnostic(
      `${dialect}: SIGTERM after ${samples.filter((s) => s.end < sigtermAt).length} answered requests; ` +
        `${inFlight.length} in flight at the signal (${tally(inFlight)}); exited 0 after ${exitedAt - sigtermAt} ms; ` +
        `ended after the signal: ${later.length} (${tally(later)}), no unanswered write executed; ${writes.summary()}`,
    );
  });
});
