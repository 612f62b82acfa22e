import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as accounts from '../src/accounts/accounts.service.js';
import { fetchWithin } from './helpers/fetch-within.js';
import { dialects, type FreshDatabase, freshDatabase } from './helpers/harness.js';
import { type ServerProcess, startServer } from './helpers/processes.js';

/**
 * The feed with two server processes writing one PostgreSQL database at once: a consumer that
 * follows `sequence_after` must get every sequence in order, never one before all smaller ones
 * (it would skip those, since it only asks for what follows). And each write, once answered by
 * one process, has its event in both lists served by the other.
 */

const WRITERS_PER_SERVER = 6;
const WRITE_MS = 4000;

type Ev = { id: string; sequence: number; request: { id: string | null }; data: { object: { id: string } } };

describe('events feed, two server processes on PostgreSQL', {
  skip: !dialects().includes('postgres'),
}, () => {
  let fresh: FreshDatabase;
  let servers: ServerProcess[];
  let key: string;
  before(async () => {
    fresh = await freshDatabase('postgres');
    key = (await accounts.createAccount(fresh.db, { name: 'Feed shop', stripeAccountId: null })).keys.test
      .secret;
    servers = await Promise.all([0, 1].map(() => startServer({ LUNIPAY_DATABASE_URL: fresh.url })));
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.kill('SIGTERM')));
    await fresh.drop();
  });

  const call = async (server: ServerProcess, method: string, path: string, body?: unknown) => {
    const res = await fetchWithin(
      `${server.url}${path}`,
      {
        method,
        headers: {
          authorization: `Bearer ${key}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      },
      20_000,
    );
    return { status: res.status, body: res.body, requestId: res.headers.get('request-id') };
  };

  test('a consumer never sees a sequence before every smaller one; reads see answered writes', async (t) => {
    let writing = true;
    let writersDone = false;
    let acked = 0;
    let readChecks = 0;

    async function writer(w: number): Promise<void> {
      const server = servers[w % 2] as ServerProcess;
      const other = servers[(w + 1) % 2] as ServerProcess;
      const mine: string[] = [];
      for (let n = 0; writing && n < 10_000; n++) {
        const res =
          mine.length === 0 || n % 3 === 0
            ? await call(server, 'POST', '/v1/customers', { email: `f${w}-${n}@feed.test` })
            : await call(server, 'POST', `/v1/customers/${mine[n % mine.length]}`, { first_name: `F${n}` });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        acked++;
        if (res.body.created === res.body.updated && !mine.includes(res.body.id)) mine.push(res.body.id);
        if (n % 4 !== 0) continue;
        // Read-your-writes through the other process: the newest event of this customer is this write's.
        const list = await call(other, 'GET', `/v1/events?object_id=${res.body.id}&limit=1`);
        const event = list.body.data[0] as Ev;
        assert.equal(event?.request.id, res.requestId, 'the list lacks an answered write');
        const feed = await call(other, 'GET', `/v1/events?sequence_after=${event.sequence - 1}&limit=1`);
        assert.equal(feed.body.data[0]?.id, event.id, 'the feed lacks an answered write');
        readChecks++;
      }
    }

    const seen: number[] = [];
    const problems: string[] = [];
    let polls = 0;
    async function consumer(): Promise<void> {
      const deadline = Date.now() + WRITE_MS + 30_000;
      let last = 0;
      for (; polls < 100_000 && Date.now() < deadline; polls++) {
        const server = servers[polls % 2] as ServerProcess;
        const page = await call(server, 'GET', `/v1/events?sequence_after=${last}&limit=100`);
        assert.equal(page.status, 200);
        for (const event of page.body.data as Ev[]) {
          if (event.sequence !== last + 1) problems.push(`got ${event.sequence} right after ${last}`);
          last = event.sequence;
          seen.push(last);
        }
        if (writersDone && !page.body.has_more && last >= acked) return;
      }
    }

    const reading = consumer();
    const stop = setTimeout(() => {
      writing = false;
    }, WRITE_MS);
    try {
      await Promise.all(Array.from({ length: 2 * WRITERS_PER_SERVER }, (_, w) => writer(w)));
    } finally {
      writing = false;
      writersDone = true;
      clearTimeout(stop);
    }
    await reading;

    assert.deepEqual(problems, []);
    assert.equal(seen.length, acked, 'every answered write, and nothing else, is in the feed');
    assert.deepEqual(
      seen,
      Array.from({ length: acked }, (_, i) => i + 1),
    );
    const rows = await fresh.db.kysely.selectFrom('events').select('sequence').orderBy('sequence').execute();
    assert.equal(rows.length, acked);
    assert.ok(
      acked > 20 && readChecks > 2 && polls > 5,
      `${acked} writes, ${readChecks} reads, ${polls} polls`,
    );
    t.diagnostic(
      `${acked} writes through two processes, ${readChecks} read-your-writes checks, ${polls} feed polls`,
    );
  });
});
