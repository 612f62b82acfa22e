import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Db } from '../../src/db/index.js';

/**
 * Keeps account of customer writes sent under faults (crashes, outages, shutdowns), to check
 * afterwards that nothing acknowledged was lost: every customer is retrieved and must equal the
 * body of its last acknowledged write. A write that got no acknowledgement (no answer, or a 503)
 * may or may not have committed, but nothing else: its customer is either as last acknowledged
 * or exactly that plus the unacknowledged update (only `updated` may differ), and an
 * unacknowledged create left one customer with its email, or none.
 *
 * Each worker owns the customers it created and has one request in flight at a time, so the order
 * of a customer's acknowledgements is the order its writes committed.
 */

export type Customer = Record<string, unknown> & {
  id: string;
  email: string;
  metadata: Record<string, string> | null;
  updated: number;
};

export interface Write {
  method: 'POST';
  path: string;
  body: Record<string, unknown>;
  /** The customer an update is for; undefined for a create. */
  id?: string;
}

/** What came back: a status and body, or nothing at all (the connection failed). */
export type Outcome = { status: number; body: unknown } | 'no answer';

interface Tracked {
  acked: Customer;
  /** Updates sent since the last acknowledgement that were not acknowledged, oldest first. */
  pending?: Record<string, unknown>[];
}

export interface WriteStats {
  sent: number;
  creates: number;
  updates: number;
  /** Writes that got no answer at all. */
  unanswered: number;
  /** Writes answered with an error (e.g. 503), by status. */
  refused: Record<number, number>;
  /** Unacknowledged updates found committed, or not, when checked. */
  pendingCommitted: number;
  pendingNotCommitted: number;
  /** Retrieves compared with acknowledged bodies. */
  checks: number;
}

/** What an update makes of a customer, as the service applies it (the updates sent remove nothing). */
function applied(customer: Customer, update: Record<string, unknown>): Customer {
  const { metadata, ...fields } = update;
  const merged = { ...customer, ...fields } as Customer;
  if (metadata) merged.metadata = { ...(customer.metadata ?? {}), ...(metadata as Record<string, string>) };
  return merged;
}

const withoutUpdated = ({ updated: _, ...rest }: Customer) => rest;

/**
 * What a customer may hold when each of `updates` (oldest first) may or may not have committed,
 * in the order sent: the bodies (without `updated`) reachable from `from`, as JSON. Equal states
 * are kept once, so a long run of unanswered updates stays a small set.
 */
function reachable(from: Customer, updates: Record<string, unknown>[]): Set<string> {
  let states = new Map([[JSON.stringify(withoutUpdated(from)), from]]);
  for (const update of updates) {
    const next = new Map(states);
    for (const state of states.values()) {
      const after = applied(state, update);
      next.set(JSON.stringify(withoutUpdated(after)), after);
    }
    states = next;
  }
  return new Set(states.keys());
}

export class WriteTracker {
  readonly tag = randomBytes(4).toString('hex');
  readonly stats: WriteStats = {
    sent: 0,
    creates: 0,
    updates: 0,
    unanswered: 0,
    refused: {},
    pendingCommitted: 0,
    pendingNotCommitted: 0,
    checks: 0,
  };
  private readonly tracked = new Map<string, Tracked>();
  /** Emails of creates that were not acknowledged: each may have made one customer, or none. */
  readonly unackedCreates = new Set<string>();
  private readonly owned = new Map<number, string[]>();
  private seq = 0;

  /** A pattern matching every email this tracker writes, for SQL `like`. */
  get emailPattern(): string {
    return `%-${this.tag}@writes.test`;
  }

  get customers(): number {
    return this.tracked.size;
  }

  /** The next write of a worker: an update of one of its customers (4 in 5), or a create. */
  next(worker: number): Write {
    const n = this.seq++;
    const mine = this.owned.get(worker) ?? [];
    this.owned.set(worker, mine);
    if (mine.length > 0 && n % 5 !== 0) {
      const id = mine[n % mine.length] as string;
      return {
        method: 'POST',
        path: `/v1/customers/${id}`,
        id,
        body: {
          first_name: `F${n}`,
          ...(n % 2 === 0 ? { notes: `note ${n}` } : { phone: `+1${n}` }),
          ...(n % 3 === 0 ? { metadata: { [`k${n % 7}`]: `v${n}` } } : {}),
          ...(n % 11 === 0 ? { email: `u${n}-${this.tag}@writes.test` } : {}),
        },
      };
    }
    return {
      method: 'POST',
      path: '/v1/customers',
      body: { email: `c${n}-${this.tag}@writes.test`, last_name: `L${n}`, metadata: { n: String(n) } },
    };
  }

  /** Records how a write ended; `acceptable` lists the error statuses the scenario allows. */
  record(worker: number, write: Write, outcome: Outcome, acceptable: number[] = []): void {
    this.stats.sent++;
    if (outcome !== 'no answer' && outcome.status === 200) {
      const body = outcome.body as Customer;
      if (write.id) {
        this.stats.updates++;
        const entry = this.tracked.get(write.id) as Tracked;
        // The last acknowledged update wins: the customer must from now on be exactly this body
        // (plus any later update). An earlier unacknowledged update that committed after this one
        // would show as a difference, so it is not kept as a possible outcome.
        entry.acked = body;
        delete entry.pending;
      } else {
        this.stats.creates++;
        this.tracked.set(body.id, { acked: body });
        this.owned.get(worker)?.push(body.id);
      }
      return;
    }
    if (outcome === 'no answer') this.stats.unanswered++;
    else {
      assert.ok(
        acceptable.includes(outcome.status),
        `${write.path}: ${outcome.status} ${JSON.stringify(outcome.body)}`,
      );
      this.stats.refused[outcome.status] = (this.stats.refused[outcome.status] ?? 0) + 1;
    }
    if (write.id) {
      const entry = this.tracked.get(write.id) as Tracked;
      // Several unacknowledged updates in a row: each may or may not have committed, in the order sent.
      entry.pending = [...(entry.pending ?? []), write.body];
    } else {
      this.unackedCreates.add(write.body.email as string);
    }
  }

  /**
   * Retrieves every customer (through `get`) and checks it against its acknowledged body. An
   * unacknowledged update found committed becomes what later writes build on.
   */
  async verify(get: (id: string) => Promise<{ status: number; body: unknown }>): Promise<void> {
    const entries = [...this.tracked.entries()];
    for (let i = 0; i < entries.length; i += 16) {
      await Promise.all(
        entries.slice(i, i + 16).map(async ([id, entry]) => {
          const res = await get(id);
          assert.equal(res.status, 200, `${id} is gone: ${JSON.stringify(res.body)}`);
          const found = res.body as Customer;
          this.stats.checks++;
          if (entry.pending) {
            if (JSON.stringify(found) === JSON.stringify(entry.acked)) {
              this.stats.pendingNotCommitted++;
            } else {
              const expected = reachable(entry.acked, entry.pending);
              assert.ok(
                expected.has(JSON.stringify(withoutUpdated(found))),
                `${id}: neither as acknowledged nor with some of the unacknowledged updates since, ` +
                  `in order: ${JSON.stringify({ found, acked: entry.acked, pending: entry.pending })}`,
              );
              assert.ok(found.updated >= entry.acked.updated);
              this.stats.pendingCommitted++;
            }
            entry.acked = found;
            delete entry.pending;
          } else {
            assert.deepEqual(found, entry.acked, `${id}: not as last acknowledged`);
          }
        }),
      );
    }
  }

  /**
   * Checks the stored rows: every acknowledged customer is there, any other is an unacknowledged
   * create's, and no email has two customers. Returns how many unacknowledged creates committed.
   */
  checkRows(rows: { id: string; email: string }[]): number {
    const byEmail = new Map<string, number>();
    for (const row of rows) byEmail.set(row.email, (byEmail.get(row.email) ?? 0) + 1);
    for (const [email, count] of byEmail) assert.equal(count, 1, `${email}: ${count} customers`);
    const strays = rows.filter((row) => !this.tracked.has(row.id));
    for (const row of strays) {
      assert.ok(this.unackedCreates.has(row.email), `${row.id} (${row.email}) was never asked for`);
    }
    const ids = new Set(rows.map((row) => row.id));
    for (const id of this.tracked.keys()) assert.ok(ids.has(id), `${id} is not stored`);
    return strays.length;
  }

  /**
   * Both checks, after a scenario: every customer retrieved from the server at `baseUrl`
   * (verify), then the stored rows (checkRows). Returns how many unacknowledged creates committed.
   */
  async verifyAll(baseUrl: string, apiKey: string, db: Db): Promise<number> {
    await this.verify(retrieveFrom(baseUrl, apiKey));
    const rows = await db.kysely
      .selectFrom('customers')
      .select(['id', 'email'])
      .where('email', 'like', this.emailPattern)
      .execute();
    return this.checkRows(rows);
  }

  summary(): string {
    const s = this.stats;
    const refused = Object.entries(s.refused)
      .map(([status, n]) => `${n}×${status}`)
      .join(', ');
    return (
      `${s.sent} writes sent, ${s.creates + s.updates} acknowledged (${s.creates} creates, ${s.updates} updates), ` +
      `${s.unanswered} unanswered${refused ? `, refused ${refused}` : ''}; unacknowledged updates found committed ` +
      `${s.pendingCommitted}, not committed ${s.pendingNotCommitted}; ${s.checks} retrieves checked against ` +
      `acknowledged bodies, ${this.customers} customers`
    );
  }
}

/** Retrieves a customer from the server at `baseUrl`, for `verify`. */
export function retrieveFrom(baseUrl: string, apiKey: string) {
  return async (id: string): Promise<{ status: number; body: unknown }> => {
    const res = await fetch(`${baseUrl}/v1/customers/${id}`, {
      headers: { authorization: `Bearer ${apiKey}` },
    });
    return { status: res.status, body: await res.json() };
  };
}

/** Sends one write to a server and returns what came back, or 'no answer'. */
export async function send(
  baseUrl: string,
  apiKey: string,
  write: Write,
  timeoutMs = 30_000,
): Promise<Outcome> {
  try {
    const res = await fetch(`${baseUrl}${write.path}`, {
      method: write.method,
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(write.body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    return { status: res.status, body: await res.json() };
  } catch {
    return 'no answer';
  }
}
