import type { Dialect } from './options.js';
import type { BenchResult, DatabaseResult } from './report.js';
import type { SearchName } from './search-scenarios.js';
import type { TargetSpec } from './targets.js';

/** The search part's targets (judged with the others in `targets.ts`) and its tables in the report. */

const search = (db: DatabaseResult, name: SearchName) => db.search?.searches.find((s) => s.name === name);
const write = (db: DatabaseResult, name: 'create' | 'update') =>
  db.search?.writeCost?.find((w) => w.scenario === name);
const both = (n: number): Record<Dialect, number> => ({ sqlite: n, postgres: n });

function searchTargets(name: SearchName, field: string): TargetSpec[] {
  return [
    {
      target: `${field}~ p50 at one connection (ms)`,
      goal: both(10),
      goalText: (g) => `≤ ${g}`,
      atLeast: false,
      value: (db) => search(db, name)?.atFull.p50,
      dependsOnSize: true,
      digits: 2,
    },
    {
      target: `${field}~ p50 growth, a tenth of the customers → all`,
      goal: both(1.5),
      goalText: (g) => `≤ ${g}×`,
      atLeast: false,
      value: (db) => search(db, name)?.p50Growth,
      note: (db) => {
        const s = search(db, name);
        return s?.atSmall && `${s.atSmall.p50} → ${s.atFull.p50} ms`;
      },
      dependsOnSize: true,
      digits: 2,
    },
  ];
}

function writeTarget(name: 'create' | 'update'): TargetSpec {
  return {
    target: `${name} with ÷ without the search index`,
    goal: both(0.75),
    goalText: (g) => `≥ ${g}`,
    atLeast: true,
    value: (db) => write(db, name)?.indexRatio,
    note: (db) => {
      const w = write(db, name);
      return (
        w &&
        `req/s ${w.withIndex.rps} with, ${w.withoutIndex.rps} without; on × paired: ${w.pairedIndexRatio}`
      );
    },
    dependsOnSize: false,
    digits: 2,
  };
}

export const SEARCH_TARGETS: TargetSpec[] = [
  ...searchTargets('search_email', 'email'),
  ...searchTargets('search_name', 'name'),
  ...searchTargets('search_phone', 'phone'),
  writeTarget('create'),
  writeTarget('update'),
  {
    /** The service's memory goal, held over an export of every customer. */
    target: 'export of every customer: server peak RSS (MB)',
    goal: both(200),
    goalText: (g) => `≤ ${g}`,
    atLeast: false,
    value: (db) => db.search?.export?.peakRssMb,
    dependsOnSize: true,
    digits: 0,
  },
];

/** The search part's figures: the searches, the export, and the writes with and without the index. */
export function searchLines(result: BenchResult): string[] {
  const dbs = result.databases.filter((db) => db.search);
  if (dbs.length === 0) return [];
  const lines = [
    '',
    'Search (bench/search-run.ts): each search at one connection (latency), at the full size and at a tenth of it ' +
      "(a second database seeded alike), and at the run's connections (throughput, paired with a baseline).",
    '',
    'Both databases are measured once the index upkeep has tidied them (search/search.upkeep.ts); "as left" is the full one before that, as the seeding and the scenarios before it left the index.',
    '',
    '| db | search | customers | p50 ms | p99 ms | as left: p50, p99 ms | at a tenth: customers, p50, p99 ms | p50 growth | req/s (conns) | paired baseline req/s | × paired | errors |',
    '|---|---|---:|---:|---:|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const db of dbs) {
    const f = db.search;
    if (!f) continue;
    for (const s of f.searches) {
      const small = s.atSmall
        ? `${f.smallCount.toLocaleString('en')}, ${s.atSmall.p50}, ${s.atSmall.p99}`
        : '–';
      lines.push(
        `| ${db.dialect} | ${s.name} | ${f.fullCount.toLocaleString('en')} | ${s.atFull.p50} | ${s.atFull.p99} | ${s.atFullUntidy ? `${s.atFullUntidy.p50}, ${s.atFullUntidy.p99}` : '–'} | ${small} | ${s.p50Growth ?? '–'} | ${s.throughput.rps.toLocaleString('en')} (${result.settings.connections}) | ${s.throughput.pairedBaselineRps.toLocaleString('en')} | ${s.throughput.pairedRatio} | ${s.atFull.errors + s.throughput.errors + (s.atSmall?.errors ?? 0) + (s.atFullUntidy?.errors ?? 0)} |`,
      );
    }
  }
  const tidied = dbs.filter((db) => db.search?.tidySeconds);
  if (tidied.length > 0) {
    lines.push(
      '',
      `The upkeep's tidying, before the tidied measurements: ${tidied
        .map((db) => {
          const t = db.search?.tidySeconds;
          return `${db.dialect} ${t?.full} s at the full size, ${t?.small ?? '–'} s at a tenth`;
        })
        .join('; ')}.`,
    );
  }
  const exports = dbs.filter((db) => db.search?.export);
  if (exports.length > 0) {
    lines.push(
      '',
      'Export of the whole table (`GET /v1/customers/export`, NDJSON, one client reading as fast as it comes, from a freshly started server):',
      '',
      '| db | customers | seconds | customers/s | MB | server RSS before → peak MB |',
      '|---|---:|---:|---:|---:|---|',
    );
    for (const db of exports) {
      const e = db.search?.export;
      if (e)
        lines.push(
          `| ${db.dialect} | ${e.customers.toLocaleString('en')} | ${e.seconds} | ${e.customersPerSecond.toLocaleString('en')} | ${e.mb} | ${e.rssBeforeMb} → ${e.peakRssMb} |`,
        );
    }
  }
  const writes = dbs.filter((db) => db.search?.writeCost);
  if (writes.length > 0) {
    lines.push(
      '',
      'Writes with the search index, without it (SQLite: the FTS5 tables and their triggers dropped; PostgreSQL: the GIN indexes), ' +
        'and with no search rows written at all (`customer_search` an empty view that swallows writes): three databases seeded alike, ' +
        'measured in rounds that take turns, a fresh server each time (bench/search-write-cost.ts). Medians over the rounds, then each round.',
      '',
      '| db | scenario | with: req/s, × paired | without the index | without search rows | with ÷ without index (req/s; × paired) | with ÷ without rows (req/s; × paired) | rounds, req/s: with / without index / without rows |',
      '|---|---|---|---|---|---:|---:|---|',
    );
    for (const db of writes) {
      for (const w of db.search?.writeCost ?? []) {
        const cell = (t: typeof w.withIndex) => `${t.rps.toLocaleString('en')}, ${t.pairedRatio}`;
        const rounds = w.rounds
          .map((r) =>
            [r.withIndex, r.withoutIndex, r.withoutSearchRows]
              .map((t) => t.rps.toLocaleString('en'))
              .join(' / '),
          )
          .join(' · ');
        lines.push(
          `| ${db.dialect} | ${w.scenario} | ${cell(w.withIndex)} | ${cell(w.withoutIndex)} | ${cell(w.withoutSearchRows)} | ${w.indexRatio}; ${w.pairedIndexRatio} | ${w.searchRowsRatio}; ${w.pairedSearchRowsRatio} | ${rounds} |`,
        );
      }
    }
  }
  return lines;
}
