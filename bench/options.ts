import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from './processes.js';

/**
 * The command lines of `npm run bench` and `npm run bench:profile`: the options they share
 * (which databases and scenarios, how many customers, how long, where PostgreSQL is) mean the
 * same in both. A value that is not a number, or a database that is neither `sqlite` nor
 * `postgres`, stops the command before anything starts.
 */

export type Dialect = 'sqlite' | 'postgres';

const DIALECTS: readonly Dialect[] = ['sqlite', 'postgres'];

const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/test';

const SHARED = {
  /** One database only: `sqlite` or `postgres`. */
  only: { type: 'string' },
  /** Run only these scenarios (repeatable). */
  scenario: { type: 'string', multiple: true },
  customers: { type: 'string' },
  /** Seconds of load per measurement. */
  duration: { type: 'string' },
  connections: { type: 'string', default: '50' },
  'pg-url': { type: 'string' },
} as const;

export interface SharedOptions {
  dialects: Dialect[];
  /** Scenario names to run; undefined: the command's default set. */
  scenarios: string[] | undefined;
  customers: number;
  durationS: number;
  connections: number;
  /** PostgreSQL: `--pg-url`, else LUNIPAY_BENCH_DATABASE_URL, else the local `test` database. */
  pgUrl: string;
}

export interface BenchOptions extends SharedOptions {
  quick: boolean;
  warmupS: number;
  threads: number;
  /** Before each measurement, wait up to this long for other processes to quieten (0: don't). */
  quietWaitMs: number;
  /** Past this much wall time, no more waiting for quiet and no second measurements. */
  budgetMs: number;
  /** Build even when dist/ looks up to date. */
  build: boolean;
  /** Keep the seeded databases and the work directory. */
  keep: boolean;
  /** Rounds of the measurements that take turns (the search index's write cost). */
  rounds: number;
}

export interface ProfileOptions extends SharedOptions {
  /** Functions listed per profile. */
  top: number;
}

function number(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, not ${value}`);
  return n;
}

function shared(
  values: {
    only?: string;
    scenario?: string[];
    customers?: string;
    duration?: string;
    connections?: string;
    'pg-url'?: string;
  },
  defaults: { customers: number; durationS: number },
): SharedOptions {
  const only = values.only;
  if (only !== undefined && !DIALECTS.includes(only as Dialect)) {
    throw new Error(`--only must be ${DIALECTS.join(' or ')}, not ${only}`);
  }
  return {
    dialects: only === undefined ? [...DIALECTS] : [only as Dialect],
    scenarios: values.scenario,
    customers: number('customers', values.customers, defaults.customers),
    durationS: number('duration', values.duration, defaults.durationS),
    connections: number('connections', values.connections, 50),
    pgUrl: values['pg-url'] ?? process.env.LUNIPAY_BENCH_DATABASE_URL ?? DEFAULT_PG_URL,
  };
}

/**
 * `npm run bench [-- --quick] [--only sqlite|postgres] [--scenario NAME]… [--customers N]
 * [--duration S] [--warmup S] [--connections N] [--threads N] [--quiet-wait S] [--budget MIN]
 * [--pg-url URL] [--build] [--keep] [--rounds N]`. `--quick`: 50,000 customers, 2 s per
 * measurement, no waiting for quiet, one round; otherwise 1,000,000 customers, 20 s and three
 * rounds of the measurements that take turns (the search index's write cost).
 */
export function benchOptions(args = process.argv.slice(2)): BenchOptions {
  const { values } = parseArgs({
    args,
    options: {
      ...SHARED,
      quick: { type: 'boolean', default: false },
      warmup: { type: 'string' },
      threads: { type: 'string', default: '1' },
      'quiet-wait': { type: 'string' },
      budget: { type: 'string' },
      build: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      rounds: { type: 'string' },
    },
  });
  const quick = values.quick ?? false;
  return {
    ...shared(values, { customers: quick ? 50_000 : 1_000_000, durationS: quick ? 2 : 20 }),
    quick,
    warmupS: number('warmup', values.warmup, quick ? 1 : 5),
    threads: number('threads', values.threads, 1),
    quietWaitMs: number('quiet-wait', values['quiet-wait'], quick ? 0 : 20) * 1000,
    budgetMs: number('budget', values.budget, 20) * 60_000,
    build: values.build ?? false,
    keep: values.keep ?? false,
    rounds: Math.max(1, Math.round(number('rounds', values.rounds, quick ? 1 : 3))),
  };
}

/**
 * `npm run bench:profile [-- --only sqlite|postgres] [--scenario NAME]… [--customers N]
 * [--duration S] [--connections N] [--top N] [--pg-url URL]`: 50,000 customers and 20 s of load
 * per profile unless told otherwise.
 */
export function profileOptions(args = process.argv.slice(2)): ProfileOptions {
  const { values } = parseArgs({
    args,
    options: { ...SHARED, top: { type: 'string', default: '25' } },
  });
  return {
    ...shared(values, { customers: 50_000, durationS: 20 }),
    top: number('top', values.top, 25),
  };
}

/** Parses a command line, or prints what is wrong with it in one line and exits with status 2. */
export function parsedOrExit<T>(command: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    process.stderr.write(`${command}: ${(error as Error).message}\n`);
    process.exit(2);
  }
}

/** What one run is called: its time stamp (file names), its id (database schema, {uniq} values), its work directory. */
export interface RunNames {
  stamp: string;
  runId: string;
  workDir: string;
}

export function runNames(kind: 'bench' | 'profile'): RunNames {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const digits = stamp.replace(/[^0-9]/g, '').slice(0, 14);
  return kind === 'bench'
    ? { stamp, runId: digits, workDir: join(ROOT, 'bench/results/tmp', stamp) }
    : { stamp, runId: `p${digits}`, workDir: join(ROOT, 'bench/results/tmp', `profile-${stamp}`) };
}
