import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as accounts from '../src/accounts/accounts.service.js';
import { toCustomer } from '../src/customers/customers.service.js';
import type { Mode } from '../src/db/schema.js';
import { fetchWithin } from './helpers/fetch-within.js';
import { type DialectName, type FreshDatabase, forEachDatabase, freshDatabase } from './helpers/harness.js';
import { type ServerProcess, startServer } from './helpers/processes.js';

/**
 * The event log under SIGKILL: concurrent creates, updates and deletes in both modes against a
 * real server process, killed at random moments and restarted, several rounds over one database.
 * Then the log must match what happened: every acknowledged write has its event (found by its
 * Request-Id), no event exists without its committed change (each customer's last event is the
 * row as stored, or its deletion), and each account and mode is numbered 1…n without a gap.
 */

const ROUNDS = 3;
const WORKERS = 12;
const MIN_ROUND_WRITES = 30;

type Kind = 'create' | 'update' | 'delete';
interface Acked {
  kind: Kind;
  customerId: string;
  requestId: string;
  key: string | null;
}
type Obj = Record<string, unknown> & { id: string };
interface EventRowLite {
  type: string;
  object_id: string;
  sequence: number;
  request_id: string | null;
  idempotency_key: string | null;
  data: string;
}

forEachDatabase(
  'events: SIGKILL under load, restart, the log matches the acknowledged writes',
  (dialect: DialectName) => {
    let fresh: FreshDatabase;
    let accountId: string;
    let keys: Record<Mode, string>;
    before(async () => {
      fresh = await freshDatabase(dialect);
      const made = await accounts.createAccount(fresh.db, {
        name: 'Event crash shop',
        stripeAccountId: null,
      });
      accountId = made.account.id;
      keys = { test: made.keys.test.secret, live: made.keys.live.secret };
    });
    after(() => fresh.drop());

    test(`${ROUNDS} rounds of ${WORKERS} writers killed at random moments`, async (t) => {
      const tag = randomBytes(3).toString('hex');
      const acked: Acked[] = [];
      const sentKeys = new Set<string>();
      const owned = new Map<number, string[]>();
      let seq = 0;
      let unanswered = 0;

      async function send(
        server: ServerProcess,
        mode: Mode,
        method: string,
        path: string,
        body: unknown,
        key: string | null,
      ) {
        try {
          const res = await fetchWithin(
            `${server.url}${path}`,
            {
              method,
              headers: {
                authorization: `Bearer ${keys[mode]}`,
                'content-type': 'application/json',
                ...(key ? { 'idempotency-key': key } : {}),
              },
              body: JSON.stringify(body),
            },
            30_000,
          );
          return {
            status: res.status,
            body: res.body as Obj,
            requestId: res.headers.get('request-id') ?? '',
          };
        } catch {
          return 'no answer' as const;
        }
      }

      async function worker(server: ServerProcess, w: number, stopped: () => boolean): Promise<void> {
        const mode: Mode = w % 2 === 0 ? 'test' : 'live';
        const mine = owned.get(w) ?? [];
        owned.set(w, mine);
        for (let op = 0; !stopped(); op++) {
          const n = seq++;
          const target = mine.length > 0 ? mine[n % mine.length] : undefined;
          // Of every four writes: a create, two updates, and a delete when two customers are left.
          const kind: Kind =
            !target || op % 4 === 0 ? 'create' : op % 4 === 2 && mine.length > 1 ? 'delete' : 'update';
          // Two writes in three carry a key, so unanswered ones can be traced in the log too.
          const key = n % 3 === 0 ? null : `crash-${tag}-${n}`;
          if (key) sentKeys.add(key);
          const out =
            kind === 'create'
              ? await send(server, mode, 'POST', '/v1/customers', { email: `e${n}-${tag}@crash.test` }, key)
              : kind === 'update'
                ? await send(
                    server,
                    mode,
                    'POST',
                    `/v1/customers/${target}`,
                    { first_name: `F${n}`, metadata: { n: `${n}` } },
                    key,
                  )
                : await send(server, mode, 'DELETE', `/v1/customers/${target}`, {}, key);
          if (out !== 'no answer' && out.status === 200) {
            const customerId = kind === 'create' ? out.body.id : (target as string);
            acked.push({ kind, customerId, requestId: out.requestId, key });
            if (kind === 'create') mine.push(customerId);
            if (kind === 'delete') mine.splice(mine.indexOf(customerId), 1);
            continue;
          }
          // Unacknowledged: it may or may not have committed, so its customer is written no more.
          if (target) mine.splice(mine.indexOf(target), 1);
          if (out === 'no answer') {
            unanswered++;
            return;
          }
          assert.equal(out.status, 503, JSON.stringify(out.body));
        }
      }

      const env = { LUNIPAY_DATABASE_URL: fresh.url };
      const kills: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const server = await startServer(env);
        let stopped = false;
        const load = Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(server, w, () => stopped)));
        const started = Date.now();
        const before = acked.length;
        await sleep(300 + Math.floor(Math.random() * 1200));
        // On a busy machine a round may get few writes through by then: it runs on until some have.
        for (let waited = 0; acked.length - before < MIN_ROUND_WRITES && waited < 5000; waited += 50)
          await sleep(50);
        kills.push(Date.now() - started);
        process.kill(server.pid, 'SIGKILL');
        stopped = true;
        await load;
        assert.equal((await server.exited).signal, 'SIGKILL');
      }

      // After one more restart the feed (over HTTP) is the log as stored.
      const server = await startServer(env);
      const byMode = new Map<Mode, EventRowLite[]>();
      try {
        for (const mode of ['test', 'live'] as const) {
          const rows = (await fresh.db.kysely
            .selectFrom('events')
            .select(['type', 'object_id', 'sequence', 'request_id', 'idempotency_key', 'data'])
            .where('account_id', '=', accountId)
            .where('mode', '=', mode)
            .orderBy('sequence')
            .execute()) as EventRowLite[];
          byMode.set(mode, rows);
          const fed: number[] = [];
          for (let after = 0, pages = 0; pages < 1000; pages++) {
            const res = await fetchWithin(
              `${server.url}/v1/events?sequence_after=${after}&limit=100`,
              { headers: { authorization: `Bearer ${keys[mode]}` } },
              20_000,
            );
            const page = res.body as { has_more: boolean; data: { sequence: number }[] };
            fed.push(...page.data.map((e) => e.sequence));
            if (!page.has_more) break;
            after = fed[fed.length - 1] as number;
          }
          assert.deepEqual(
            fed,
            rows.map((r) => r.sequence),
            `${mode}: the feed serves the stored log`,
          );

          // 1…n, no gap, no repeat; the counter agrees.
          assert.deepEqual(
            rows.map((r) => r.sequence),
            Array.from({ length: rows.length }, (_, i) => i + 1),
            `${mode}: sequences are 1…n`,
          );
          const counter = await fresh.db.kysely
            .selectFrom('event_sequences')
            .select('last')
            .where('account_id', '=', accountId)
            .where('mode', '=', mode)
            .executeTakeFirst();
          assert.equal(Number(counter?.last ?? 0), rows.length);
        }
      } finally {
        await server.kill('SIGTERM');
      }
      const events = [...(byMode.get('test') ?? []), ...(byMode.get('live') ?? [])];

      // Every acknowledged write has exactly its event; no write has two.
      const byRequest = new Map(events.filter((e) => e.request_id).map((e) => [e.request_id, e]));
      assert.equal(byRequest.size, events.length, 'one request, at most one event');
      const TYPE: Record<Kind, string> = {
        create: 'customer.created',
        update: 'customer.updated',
        delete: 'customer.deleted',
      };
      for (const write of acked) {
        const event = byRequest.get(write.requestId);
        assert.ok(
          event,
          `${write.kind} ${write.customerId} (${write.requestId}) was acknowledged without its event`,
        );
        assert.equal(event.type, TYPE[write.kind]);
        assert.equal(event.object_id, write.customerId);
        assert.equal(event.idempotency_key, write.key);
      }
      const keyed = events.filter((e) => e.idempotency_key !== null);
      assert.equal(
        new Set(keyed.map((e) => e.idempotency_key)).size,
        keyed.length,
        'one key, at most one event',
      );
      for (const e of keyed) assert.ok(sentKeys.has(e.idempotency_key as string));
      const strays = events.length - acked.length;
      assert.ok(
        strays >= 0 && strays <= unanswered,
        `${strays} events of unanswered writes, ${unanswered} unanswered`,
      );

      // No event without its change: each customer's last event is its row as stored, or its deletion.
      const rows = await fresh.db.kysely
        .selectFrom('customers')
        .selectAll()
        .where('account_id', '=', accountId)
        .execute();
      const stored = new Map(rows.map((r) => [r.id, toCustomer(r) as unknown as Obj]));
      const history = new Map<string, EventRowLite[]>();
      for (const e of events) history.set(e.object_id, [...(history.get(e.object_id) ?? []), e]);
      for (const [id, list] of history) {
        assert.equal(list[0]?.type, 'customer.created', `${id}: its first event is its creation`);
        const last = list[list.length - 1] as EventRowLite;
        const row = stored.get(id);
        if (last.type === 'customer.deleted') {
          assert.equal(row, undefined, `${id}: deleted in the log, still stored`);
          for (const e of list)
            assert.deepEqual(JSON.parse(e.data), { object: { id, object: 'customer', deleted: true } });
          continue;
        }
        assert.deepEqual(JSON.parse(last.data).object, row, `${id}: the last event is not the stored row`);
        // Each update names exactly what changed since the event before it.
        for (let i = 1; i < list.length; i++) {
          const before = JSON.parse((list[i - 1] as EventRowLite).data).object as Obj;
          const { object, previous_attributes } = JSON.parse((list[i] as EventRowLite).data);
          for (const field of Object.keys(object)) {
            if (field === 'updated') continue;
            if (field in previous_attributes) assert.deepEqual(previous_attributes[field], before[field]);
            else assert.deepEqual(object[field], before[field], `${id}: ${field} changed unannounced`);
          }
        }
      }
      for (const id of stored.keys()) assert.ok(history.has(id), `${id} is stored without any event`);
      assert.ok(unanswered > 0, 'some writes were in flight at the kills');
      assert.ok(acked.some((w) => w.kind === 'delete') && acked.some((w) => w.kind === 'update'));

      t.diagnostic(
        `${dialect}: ${ROUNDS} SIGKILLs after ${kills.join(', ')} ms; ${acked.length} writes acknowledged ` +
          `(${acked.filter((w) => w.kind === 'delete').length} deletes), ${unanswered} unanswered, ` +
          `${strays} of those committed with their event; ${events.length} events, sequences 1…n in both modes`,
      );
    });
  },
);
