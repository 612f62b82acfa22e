import type { Dialect } from './options.js';
import type { DatabaseResult, ScenarioResult, Target } from './report.js';
import { SEARCH_TARGETS } from './search-report.js';

/**
 * The service's performance targets, and how a run is judged against them.
 *
 * Throughput is a ratio to the bare node:http baseline (`baseline-server.mjs`), not a number of
 * requests per second, so that a target means the same on any machine: it says what share of
 * a do-nothing server's speed the service keeps once it authenticates, validates, stores
 * durably and logs. The ratio judged is the paired one (the baseline measured just before the
 * scenario, sharing the machine's state); the ratio to the run's median baseline and the
 * per-core ratio are reported beside it. PostgreSQL's goals are lower than SQLite's: every
 * statement is a round trip to another process that shares the same cores.
 *
 * Latency and memory are absolute. The targets hold at 1,000,000 customers per database; a
 * quick run, at fewer, says so beside each figure that depends on the table's size.
 */

export interface TargetSpec {
  /** The name in the report. */
  target: string;
  goal: Record<Dialect, number>;
  /** How the goal reads in the report. */
  goalText: (goal: number) => string;
  /** At least the goal (throughput), or at most (latency, memory). */
  atLeast: boolean;
  /** The figure, or undefined when the run did not measure it. */
  value: (db: DatabaseResult) => number | undefined;
  /** The other views of the figure, printed beside it. */
  note?: (db: DatabaseResult) => string | undefined;
  /** The figure depends on the table's size, so a run at fewer customers says so. */
  dependsOnSize: boolean;
  /** Decimals in the report. */
  digits: number;
}

const find = (db: DatabaseResult, name: string): ScenarioResult | undefined =>
  db.scenarios.find((s) => s.name === name);
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

/** The paired ratio of a throughput scenario, with the other two ratios as its note. */
function throughput(target: string, scenario: string, goal: Record<Dialect, number>): TargetSpec {
  return {
    target,
    goal,
    goalText: (g) => `≥ ${g} × paired baseline`,
    atLeast: true,
    value: (db) => find(db, scenario)?.pairedRatio,
    note: (db) => {
      const s = find(db, scenario);
      return s && `× the run's median baseline: ${round(s.ratio)}; per core: ${round(s.perCoreRatio)}`;
    },
    dependsOnSize: false,
    digits: 2,
  };
}

export const TARGETS: readonly TargetSpec[] = [
  /** A retrieve by id. */
  throughput('retrieve', 'retrieve', { sqlite: 0.55, postgres: 0.35 }),
  /** The first page of the list, 10 customers and then 100. */
  throughput('list, first page of 10', 'list_first_10', { sqlite: 0.25, postgres: 0.15 }),
  throughput('list, first page of 100', 'list_first_100', { sqlite: 0.06, postgres: 0.03 }),
  /**
   * A create with its event row, acknowledged only once committed durably (SQLite
   * synchronous=FULL, PostgreSQL fsync).
   */
  throughput('create (durable, with its event)', 'create', { sqlite: 0.3, postgres: 0.2 }),
  throughput('create with Idempotency-Key', 'create_idempotent', { sqlite: 0.18, postgres: 0.1 }),
  throughput('update', 'update', { sqlite: 0.2, postgres: 0.1 }),
  {
    target: 'retrieve p99 at 50 connections (ms)',
    goal: { sqlite: 10, postgres: 15 },
    goalText: (g) => `≤ ${g}`,
    atLeast: false,
    value: (db) => find(db, 'retrieve')?.latencyMs.p99,
    dependsOnSize: true,
    digits: 2,
  },
  {
    /** A page deep in the list costs what the first page costs: lists are keyset-paginated. */
    target: 'list deep p50 ÷ first p50',
    goal: { sqlite: 1.3, postgres: 1.3 },
    goalText: (g) => `≤ ${g}`,
    atLeast: false,
    value: (db) => {
      const first = find(db, 'list_first_10');
      const deep = find(db, 'list_deep_10');
      return first && deep ? deep.latencyMs.p50 / first.latencyMs.p50 : undefined;
    },
    dependsOnSize: true,
    digits: 2,
  },
  {
    /** The server's peak resident memory over all of a database's scenarios. */
    target: 'server peak RSS (MB)',
    goal: { sqlite: 150, postgres: 150 },
    goalText: (g) => `≤ ${g}`,
    atLeast: false,
    value: (db) => db.serverPeakRssMb,
    dependsOnSize: true,
    digits: 0,
  },
  ...SEARCH_TARGETS,
];

export function evaluateTargets(databases: DatabaseResult[], quick: boolean): Target[] {
  const out: Target[] = [];
  for (const db of databases) {
    const atScale = quick
      ? `measured at ${db.seed.count.toLocaleString('en')} customers, not 1,000,000`
      : undefined;
    for (const spec of TARGETS) {
      const value = spec.value(db);
      if (value === undefined) continue;
      const goal = spec.goal[db.dialect];
      const note = spec.dependsOnSize ? atScale : spec.note?.(db);
      out.push({
        target: spec.target,
        dialect: db.dialect,
        value: round(value, spec.digits),
        goal: spec.goalText(goal),
        met: spec.atLeast ? value >= goal : value <= goal,
        ...(note === undefined ? {} : { note }),
      });
    }
  }
  return out;
}
