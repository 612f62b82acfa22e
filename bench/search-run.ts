import { mkdirSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { prepare } from './databases.js';
import { memory } from './machine.js';
import { measurer, ratio, serverRoles } from './measure.js';
import type { BenchOptions, Dialect } from './options.js';
import type { Running } from './processes.js';
import { baselineTemplates, preflight } from './scenarios.js';
import {
  SEARCH_DESCRIPTIONS,
  SEARCHES,
  type SearchName,
  type SearchPartName,
  searchTemplates,
} from './search-scenarios.js';
import { tidy } from './search-tables.js';
import { measureWriteCost, type Throughput, type WriteCost } from './search-write-cost.js';
import type { Seeded } from './seed.js';
import type { Template, WrkResult } from './wrk.js';

/**
 * The search part of a database's run, after its other scenarios, on the same seeded table:
 * - each search at ONE connection (its latency: p50, p99) and at the run's connections (its
 *   throughput, paired with a baseline as every scenario is), at the full size; then at one
 *   connection again on a second database of a tenth of the size, for the growth of the p50.
 *   Both databases are measured with their index tidied by its upkeep; the full one also
 *   before, as the seeding and the other scenarios left it;
 * - the export of the whole table over HTTP, from a freshly started server: customers a
 *   second and the server's peak RSS;
 * - what the search index costs writes: create and update with it, without it and without
 *   search rows at all, on three databases seeded alike, in rounds that take turns
 *   (search-write-cost.ts).
 */

export interface Latency {
  p50: number;
  p99: number;
  rps: number;
  errors: number;
}
export interface SearchResult {
  name: SearchName;
  description: string;
  /** At the full size and one connection, as the seeding and the scenarios before left the index. */
  atFullUntidy?: Latency;
  /** The same once the index's upkeep has done all there was to do, as a quiet spell leaves it. */
  atFull: Latency;
  atSmall?: Latency;
  /** p50 at the full size over p50 at a tenth of it, at one connection. */
  p50Growth?: number;
  throughput: Throughput;
  responseBytes: number;
}
export interface ExportFigures {
  customers: number;
  seconds: number;
  customersPerSecond: number;
  mb: number;
  rssBeforeMb: number;
  peakRssMb: number;
}
export interface SearchFigures {
  fullCount: number;
  smallCount: number;
  /** Seconds the upkeep took to tidy the full database's index, and the small one's. */
  tidySeconds?: { full: number; small?: number };
  searches: SearchResult[];
  export?: ExportFigures;
  writeCost?: WriteCost[];
}

export interface SearchPartDeps {
  dialect: Dialect;
  options: BenchOptions;
  runId: string;
  workDir: string;
  log: (message: string) => void;
  seeded: Seeded;
  databaseUrl: string;
  idsFile: string;
  /** The paired baseline, idle between its measurements. */
  baseline: Running;
  /** The database's server, running; the part stops it when it needs a fresh one. */
  server: Running;
  startServer: (databaseUrl: string, name: string) => Promise<Running>;
  wanted: Set<SearchPartName>;
}

const round = (n: number) => Math.round(n * 100) / 100;

export async function runSearchPart(deps: SearchPartDeps): Promise<SearchFigures> {
  const { dialect, options, log } = deps;
  const settings = {
    threads: options.threads,
    timeoutS: 10,
    warmupS: options.warmupS,
    durationS: options.durationS,
    workDir: deps.workDir,
    quietWaitMs: options.quietWaitMs,
    retryAboveOthers: Number.POSITIVE_INFINITY,
    budgetMs: options.budgetMs,
    log,
  };
  const many = measurer({ ...settings, connections: options.connections });
  const one = measurer({ ...settings, connections: 1 });
  const ctx = { secret: deps.seeded.secret, deepCursor: deps.seeded.deepCursor };
  const tag = (name: string) => `${deps.runId}-${dialect}-${name}`;

  const latency = async (server: Running, templates: Template[], name: string): Promise<Latency> => {
    const rolesOf = serverRoles(dialect, server.pid, options.pgUrl);
    await one.quietly(await rolesOf());
    const { result } = await one.warmAndMeasure(server.url, templates, tag(name), rolesOf, deps.idsFile);
    return {
      p50: result.latencyMs.p50,
      p99: result.latencyMs.p99,
      rps: result.rps,
      errors: result.errors.total,
    };
  };
  const throughput = async (
    server: Running,
    templates: Template[],
    name: string,
    idsFile = deps.idsFile,
  ): Promise<Throughput> => {
    const rolesOf = serverRoles(dialect, server.pid, options.pgUrl);
    await many.quietly(await rolesOf());
    const paired = await many.measure(
      deps.baseline.url,
      baselineTemplates(ctx),
      `${tag(name)}-base`,
      { server: deps.baseline.pid },
      options.durationS,
      idsFile,
    );
    const { result: r } = await many.warmAndMeasure(server.url, templates, tag(name), rolesOf, idsFile);
    log(`${dialect} ${name}: ${r.rps} req/s (paired baseline ${paired.rps}), p50 ${r.latencyMs.p50} ms`);
    return figures(r, paired);
  };

  const out: SearchFigures = {
    fullCount: deps.seeded.count,
    smallCount: smallSize(deps.seeded.count),
    searches: [],
  };
  let server = deps.server;
  const wantedSearches = SEARCHES.filter((name) => deps.wanted.has(name));
  // First as the index was left (by the seeding, and the write scenarios when they ran), then
  // tidied: the growth compares the full database and the small one both tidied, the same state.
  const prepared = new Map<SearchName, { templates: Template[]; bytes: number; untidy: Latency }>();
  for (const name of wantedSearches) {
    const templates = searchTemplates(name, ctx.secret, out.fullCount);
    const shapes = await preflight(server.url, { name, description: '', templates }, [], tag(name));
    const untidy = await latency(server, templates, `${name}-c1-untidy`);
    prepared.set(name, { templates, bytes: Math.max(...shapes.map((s) => s.bytes)), untidy });
    log(`${dialect} ${name} at ${out.fullCount} as left: p50 ${untidy.p50} ms at one connection`);
  }
  if (wantedSearches.length > 0) {
    out.tidySeconds = { full: round(await tidy(deps.databaseUrl)) };
    log(`${dialect}: the search index's upkeep took ${out.tidySeconds.full} s to tidy`);
  }
  for (const [name, { templates, bytes, untidy }] of prepared) {
    const atFull = await latency(server, templates, `${name}-c1`);
    const t = await throughput(server, templates, name);
    log(
      `${dialect} ${name} at ${out.fullCount}: p50 ${atFull.p50} ms, p99 ${atFull.p99} ms at one connection`,
    );
    out.searches.push({
      name,
      description: SEARCH_DESCRIPTIONS[name],
      atFullUntidy: untidy,
      atFull,
      throughput: t,
      responseBytes: bytes,
    });
  }
  if (wantedSearches.length > 0) await atSmallSize(deps, out, latency);

  if (deps.wanted.has('export')) {
    await server.stop();
    server = await deps.startServer(deps.databaseUrl, `server-${dialect}-export`);
    out.export = await measureExport(server, ctx.secret);
    log(`${dialect} export: ${JSON.stringify(out.export)}`);
  }

  if (deps.wanted.has('search_write_cost')) {
    // Its own servers, one at a time.
    await server.stop();
    out.writeCost = await measureWriteCost({
      dialect,
      options,
      runId: deps.runId,
      workDir: deps.workDir,
      log,
      main: { url: deps.databaseUrl, seeded: deps.seeded, idsFile: deps.idsFile },
      startServer: deps.startServer,
      throughput,
    });
    return out;
  }
  if (server !== deps.server) await server.stop();
  return out;
}

const smallSize = (count: number) => Math.max(1000, Math.round(count / 10));

function figures(r: WrkResult, paired: WrkResult): Throughput {
  return {
    rps: r.rps,
    pairedBaselineRps: paired.rps,
    pairedRatio: ratio(r.rps, paired.rps),
    p50: r.latencyMs.p50,
    p99: r.latencyMs.p99,
    errors: r.errors.total,
  };
}

/** The same searches at one connection on a database of a tenth of the size, seeded alike. */
async function atSmallSize(
  deps: SearchPartDeps,
  out: SearchFigures,
  latency: (server: Running, templates: Template[], name: string) => Promise<Latency>,
): Promise<void> {
  const dir = join(deps.workDir, 'small');
  mkdirSync(dir, { recursive: true });
  deps.log(`seeding a second ${deps.dialect} database with ${out.smallCount.toLocaleString('en')} customers`);
  const small = await prepare(deps.dialect, {
    customers: out.smallCount,
    workDir: dir,
    idsFile: join(dir, 'ids.txt'),
    pgUrl: deps.options.pgUrl,
    runId: `${deps.runId}s`,
  });
  if (out.tidySeconds) out.tidySeconds.small = round(await tidy(small.url));
  const server = await deps.startServer(small.url, `server-${deps.dialect}-small`);
  try {
    for (const s of out.searches) {
      const templates = searchTemplates(s.name, small.seeded.secret, out.smallCount);
      await preflight(server.url, { name: s.name, description: '', templates }, [], `${s.name}-small`);
      s.atSmall = await latency(server, templates, `${s.name}-c1-small`);
      s.p50Growth = round(s.atFull.p50 / s.atSmall.p50);
      deps.log(
        `${deps.dialect} ${s.name} at ${out.smallCount}: p50 ${s.atSmall.p50} ms; growth to ${out.fullCount}: ${s.p50Growth}×`,
      );
    }
  } finally {
    await server.stop();
    if (!deps.options.keep) await small.drop();
  }
}

/** GET /v1/customers/export (NDJSON) read as fast as it comes, the server's RSS sampled meanwhile. */
async function measureExport(server: Running, secret: string): Promise<ExportFigures> {
  const before = memory(server.pid)?.rssMb ?? 0;
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, memory(server.pid)?.rssMb ?? 0);
  }, 50);
  const start = performance.now();
  const url = new URL('/v1/customers/export?format=ndjson', server.url);
  const { lines, bytes } = await new Promise<{ lines: number; bytes: number }>((resolve, reject) => {
    const req = request(url, { headers: { Authorization: `Bearer ${secret}` } }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`export answered ${res.statusCode}`));
      let n = 0;
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) n++;
      });
      res.on('end', () => resolve({ lines: n, bytes: size }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
  const seconds = (performance.now() - start) / 1000;
  clearInterval(sampler);
  // VmHWM catches a peak between two samples.
  peak = Math.max(peak, memory(server.pid)?.hwmMb ?? 0);
  return {
    customers: lines,
    seconds: round(seconds),
    customersPerSecond: Math.round(lines / seconds),
    mb: round(bytes / 2 ** 20),
    rssBeforeMb: Math.round(before),
    peakRssMb: Math.round(peak),
  };
}
