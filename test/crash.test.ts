import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as accounts from '../src/accounts/accounts.service.js';
import { type DialectName, type FreshDatabase, forEachDatabase, freshDatabase } from './helpers/harness.js';
import { type ServerProcess, startServer } from './helpers/server-process.js';

/**
 * Crash safety: concurrent creates and updates against a real server process, killed with SIGKILL
 * at a random moment, restarted, several rounds over the same database. After each restart every
 * acknowledged write must be there exactly as acknowledged: a retrieve returns the very body the
 * last acknowledged write of that customer returned. A write that got no answer (in flight when
 * the process died) may or may not have committed, but nothing else: its customer is either as
 * last acknowledged or exactly that plus the unanswered update (only `updated` may differ), and an
 * unanswered create left either nothing or one customer with its email.
 *
 * Each worker owns the customers it created and has one request in flight at a time, so the order
 * of a customer's acknowledgements is the order its writes committed.
 */

const ROUNDS = 5;
const WORKERS = 16;

type Customer = Record<string, unknown> & { id: string; metadata: Record<string, string> | null };

interface Pending {
  kind: 'create' | 'update';
  body: Record<string, unknown>;
}

interface Tracked {
  /** The body of the last acknowledged write of this customer. */
  acked: Customer;
  /** An update that got no answer since, if any. */
  pending?: Pending;
}

/** What an update would make of a customer, as the service applies it (no removals are sent). */
function applied(customer: Customer, update: Record<string, unknown>): Customer {
  const { metadata, ...fields } = update;
  const merged = { ...customer, ...fields } as Customer;
  if (metadata) merged.metadata = { ...(customer.metadata ?? {}), ...(metadata as Record<string, string>) };
  return merged;
}

const withoutUpdated = ({ updated: _, ...rest }: Customer) => rest;

forEachDatabase(
  'crash: SIGKILL under load, restart, every acknowledged write intact',
  (dialect: DialectName) => {
    let fresh: FreshDatabase;
    let apiKey: string;
    before(async () => {
      fresh = await freshDatabase(dialect);
      apiKey = (await accounts.createAccount(fresh.db, { name: 'Crash shop', stripeAccountId: null })).keys
        .test.secret;
    });
    after(() => fresh.drop());

    test(`${ROUNDS} rounds of ${WORKERS} concurrent writers, killed at random moments`, async (t) => {
      const tag = randomBytes(4).toString('hex');
      const tracked = new Map<string, Tracked>();
      /** Emails of creates that got no answer: each may have made one customer, or none. */
      const unansweredCreates = new Set<string>();
      const owned: string[][] = Array.from({ length: WORKERS }, () => []);
      const stats = {
        sent: 0,
        creates: 0,
        updates: 0,
        unanswered: 0,
        checks: 0,
        pendingCommitted: 0,
        pendingLost: 0,
      };
      const killedAfterMs: number[] = [];
      let seq = 0;

      const call = async (server: ServerProcess, method: string, path: string, body?: unknown) => {
        const res = await fetch(`${server.url}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${apiKey}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        return { status: res.status, body: (await res.json()) as Customer };
      };

      /** Every tracked customer, read back through a fresh server, is as acknowledged. */
      async function verify(server: ServerProcess): Promise<void> {
        const entries = [...tracked.entries()];
        for (let i = 0; i < entries.length; i += 16) {
          await Promise.all(
            entries.slice(i, i + 16).map(async ([id, entry]) => {
              const res = await call(server, 'GET', `/v1/customers/${id}`);
              assert.equal(res.status, 200, `${id} is gone: ${JSON.stringify(res.body)}`);
              stats.checks++;
              if (entry.pending) {
                const expected = applied(entry.acked, entry.pending.body);
                if (JSON.stringify(res.body) === JSON.stringify(entry.acked)) {
                  stats.pendingLost++;
                } else {
                  assert.deepEqual(
                    withoutUpdated(res.body),
                    withoutUpdated(expected),
                    `${id}: neither acknowledged nor the unanswered update`,
                  );
                  assert.ok((res.body.updated as number) >= (entry.acked.updated as number));
                  stats.pendingCommitted++;
                }
                // Either way, what is stored now is what the next write builds on.
                entry.acked = res.body;
                delete entry.pending;
              } else {
                assert.deepEqual(res.body, entry.acked, `${id}: not as acknowledged`);
              }
            }),
          );
        }
      }

      async function worker(server: ServerProcess, w: number, stop: () => boolean): Promise<void> {
        const mine = owned[w] as string[];
        while (!stop()) {
          const n = seq++;
          const update = mine.length > 0 && n % 5 !== 0;
          const id = update ? (mine[n % mine.length] as string) : undefined;
          const body: Record<string, unknown> = update
            ? {
                first_name: `F${n}`,
                ...(n % 2 === 0 ? { notes: `note ${n}` } : { phone: `+1${n}` }),
                ...(n % 3 === 0 ? { metadata: { [`k${n % 7}`]: `v${n}` } } : {}),
                ...(n % 11 === 0 ? { email: `u${n}-${tag}@crash.test` } : {}),
              }
            : { email: `c${n}-${tag}@crash.test`, last_name: `L${n}`, metadata: { round: String(n) } };
          stats.sent++;
          let res: Awaited<ReturnType<typeof call>>;
          try {
            res = await call(server, 'POST', update ? `/v1/customers/${id}` : '/v1/customers', body);
          } catch {
            // The process died with the request in flight (or before it was sent).
            stats.unanswered++;
            if (id) (tracked.get(id) as Tracked).pending = { kind: 'update', body };
            else unansweredCreates.add(body.email as string);
            return;
          }
          assert.equal(res.status, 200, JSON.stringify(res.body));
          if (id) {
            stats.updates++;
            (tracked.get(id) as Tracked).acked = res.body;
          } else {
            stats.creates++;
            tracked.set(res.body.id, { acked: res.body });
            mine.push(res.body.id);
          }
        }
      }

      const env = { LUNIPAY_DATABASE_URL: fresh.url, LUNIPAY_LOG_LEVEL: 'info' };
      for (let round = 0; round < ROUNDS; round++) {
        const server = await startServer(env);
        await verify(server);
        let stopped = false;
        const load = Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(server, w, () => stopped)));
        // A random moment: early in a round the pool is cold, later it is busy with updates.
        const delay = 200 + Math.floor(Math.random() * 1200);
        killedAfterMs.push(delay);
        await sleep(delay);
        process.kill(server.pid, 'SIGKILL');
        stopped = true;
        await load;
        const { signal } = await server.exited;
        assert.equal(signal, 'SIGKILL');
      }

      // The last round's writes, through one more restart; then the rows themselves.
      const server = await startServer(env);
      try {
        await verify(server);
      } finally {
        await server.kill('SIGTERM');
      }
      const rows = await fresh.db.kysely
        .selectFrom('customers')
        .select(['id', 'email'])
        .where('email', 'like', `%-${tag}@crash.test`)
        .execute();
      const byEmail = new Map<string, number>();
      for (const row of rows) byEmail.set(row.email, (byEmail.get(row.email) ?? 0) + 1);
      const strays = rows.filter((row) => !tracked.has(row.id));
      for (const row of strays) {
        assert.ok(unansweredCreates.has(row.email), `${row.id} (${row.email}) was never asked for`);
      }
      for (const [email, count] of byEmail) assert.equal(count, 1, `${email}: ${count} customers`);
      assert.equal(rows.length, tracked.size + strays.length);
      assert.ok(stats.unanswered > 0, 'some writes were in flight at the kills');
      assert.ok(stats.creates > 0 && stats.updates > 0);

      t.diagnostic(
        `${dialect}: ${ROUNDS} SIGKILLs (after ${killedAfterMs.join(', ')} ms of load), ${stats.sent} writes sent, ` +
          `${stats.creates + stats.updates} acknowledged (${stats.creates} creates, ${stats.updates} updates), ` +
          `${stats.unanswered} unanswered (updates found committed ${stats.pendingCommitted}, not committed ${stats.pendingLost}; ` +
          `creates that committed anyway ${strays.length} of ${unansweredCreates.size}); ` +
          `${stats.checks} retrieves checked against the acknowledged bodies, ${tracked.size} customers, no loss, no duplicate`,
      );
    });
  },
);
