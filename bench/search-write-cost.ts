import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Prepared, prepare } from './databases.js';
import { ratio } from './measure.js';
import type { BenchOptions, Dialect } from './options.js';
import type { Running } from './processes.js';
import { scenarios } from './scenarios.js';
import { dropTrigramIndex, swallowSearchRows, tidy } from './search-tables.js';
import type { Seeded } from './seed.js';
import type { Template } from './wrk.js';

/**
 * What the search index costs writes, in rounds that take turns. Three databases seeded alike at
 * the full size: the run's own, with the search index; one with the index dropped (SQLite: the
 * FTS5 tables and their triggers; PostgreSQL: the GIN indexes); one with no search rows written
 * at all (`customer_search` an empty view that swallows writes: the write path as it was before
 * search). Each round measures create and update on each of them, a freshly started server at a
 * time, in an order that turns by one each round, so that the machine's drift over the run
 * weighs on each alike; the ratios are of the medians over the rounds. (One pass after another
 * on a single database put "without" minutes after "with", and the same build's figure swung by
 * half between runs.)
 */

export interface Throughput {
  rps: number;
  pairedBaselineRps: number;
  pairedRatio: number;
  p50: number;
  p99: number;
  errors: number;
}
const VARIANTS = ['withIndex', 'withoutIndex', 'withoutSearchRows'] as const;
type Variant = (typeof VARIANTS)[number];
export type WriteRound = Record<Variant, Throughput>;

export interface WriteCost {
  scenario: 'create' | 'update';
  rounds: WriteRound[];
  /** The round whose req/s is the median, of each variant. */
  withIndex: Throughput;
  withoutIndex: Throughput;
  withoutSearchRows: Throughput;
  /** Median with ÷ median without, on req/s and on the paired ratios. */
  indexRatio: number;
  searchRowsRatio: number;
  pairedIndexRatio: number;
  pairedSearchRowsRatio: number;
}

export interface WriteCostDeps {
  dialect: Dialect;
  options: BenchOptions;
  runId: string;
  workDir: string;
  log: (message: string) => void;
  /** The run's own database, with the index. */
  main: { url: string; seeded: Seeded; idsFile: string };
  startServer: (databaseUrl: string, name: string) => Promise<Running>;
  /** One throughput measurement of `templates` against `server`, paired with the baseline. */
  throughput: (server: Running, templates: Template[], name: string, idsFile: string) => Promise<Throughput>;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] as number;
};
const medianRound = (all: Throughput[]): Throughput => {
  const rps = median(all.map((t) => t.rps));
  return all.find((t) => t.rps === rps) as Throughput;
};

export async function measureWriteCost(deps: WriteCostDeps): Promise<WriteCost[]> {
  const { dialect, options, log } = deps;
  const made: Prepared[] = [];
  const seededAlike = async (name: string) => {
    const dir = join(deps.workDir, name);
    mkdirSync(dir, { recursive: true });
    log(
      `seeding a ${dialect} database without ${name} (${deps.main.seeded.count.toLocaleString('en')} customers)`,
    );
    const db = await prepare(dialect, {
      customers: deps.main.seeded.count,
      workDir: dir,
      idsFile: join(dir, 'ids.txt'),
      pgUrl: options.pgUrl,
      runId: `${deps.runId}${name === 'index' ? 'i' : 'r'}`,
    });
    made.push(db);
    await tidy(db.url);
    return { url: db.url, seeded: db.seeded, idsFile: join(dir, 'ids.txt') };
  };
  try {
    const withoutIndex = await seededAlike('index');
    await dropTrigramIndex(dialect, withoutIndex.url, options.pgUrl);
    const withoutRows = await seededAlike('rows');
    await swallowSearchRows(dialect, withoutRows.url, options.pgUrl);
    const databases: Record<Variant, typeof deps.main> = {
      withIndex: deps.main,
      withoutIndex,
      withoutSearchRows: withoutRows,
    };
    const writes = ['create', 'update'] as const;
    const rounds: Record<(typeof writes)[number], WriteRound[]> = { create: [], update: [] };
    for (let r = 0; r < options.rounds; r++) {
      const order = VARIANTS.map((_, k) => VARIANTS[(k + r) % VARIANTS.length] as Variant);
      const got: Record<string, Partial<WriteRound>> = { create: {}, update: {} };
      for (const variant of order) {
        const db = databases[variant];
        const all = scenarios({ secret: db.seeded.secret, deepCursor: db.seeded.deepCursor });
        const server = await deps.startServer(db.url, `server-${dialect}-${variant}-${r}`);
        try {
          for (const name of writes) {
            const templates = all.find((s) => s.name === name)?.templates ?? [];
            const t = await deps.throughput(server, templates, `${name}_${variant}_${r}`, db.idsFile);
            (got[name] as Partial<WriteRound>)[variant] = t;
          }
        } finally {
          await server.stop();
        }
      }
      for (const name of writes) rounds[name].push(got[name] as WriteRound);
    }
    return writes.map((scenario) => {
      const of = (v: Variant) => rounds[scenario].map((round) => round[v]);
      const rps = (v: Variant) => median(of(v).map((t) => t.rps));
      const paired = (v: Variant) => median(of(v).map((t) => t.pairedRatio));
      return {
        scenario,
        rounds: rounds[scenario],
        withIndex: medianRound(of('withIndex')),
        withoutIndex: medianRound(of('withoutIndex')),
        withoutSearchRows: medianRound(of('withoutSearchRows')),
        indexRatio: ratio(rps('withIndex'), rps('withoutIndex')),
        searchRowsRatio: ratio(rps('withIndex'), rps('withoutSearchRows')),
        pairedIndexRatio: ratio(paired('withIndex'), paired('withoutIndex')),
        pairedSearchRowsRatio: ratio(paired('withIndex'), paired('withoutSearchRows')),
      };
    });
  } finally {
    if (!options.keep) for (const db of made) await db.drop();
  }
}
