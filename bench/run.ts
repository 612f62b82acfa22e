import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { backendPids, prepare } from './databases.js';
import { machineInfo, type Roles, waitForQuiet } from './machine.js';
import { ROOT, type Running, START_ARGS, startBaseline, startServer } from './processes.js';
import {
  type BenchResult,
  type DatabaseResult,
  DISTURBED,
  evaluateTargets,
  markdown,
  perCore,
  type ScenarioResult,
} from './report.js';
import { baselineTemplates, preflight, type Scenario, type ScenarioContext, scenarios } from './scenarios.js';
import type { Seeded } from './seed.js';
import { runWrk, type Template, type WrkResult, wrkVersion } from './wrk.js';

/**
 * `npm run bench [-- --quick] [-- --only sqlite|postgres]`: issue 6's benchmark. Seeds each
 * database through the store, starts the built server on it as its own process, and drives every
 * scenario with wrk after a warm-up, each right after a measurement of a bare node:http baseline
 * (the pair shares the machine's drift). The baseline also runs on its own (at the
 * start, between the databases and at the end of a full run); every figure is a ratio to it.
 */

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    customers: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string', default: '50' },
    threads: { type: 'string', default: '1' },
    scenario: { type: 'string', multiple: true },
    'pg-url': { type: 'string' },
    'quiet-wait': { type: 'string' },
    /** Minutes: past this, no more waiting for quiet and no second measurements. */
    budget: { type: 'string' },
    build: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});

const quick = args.quick ?? false;
const settings = {
  customers: Number(args.customers ?? (quick ? 50_000 : 1_000_000)),
  durationS: Number(args.duration ?? (quick ? 2 : 20)),
  warmupS: Number(args.warmup ?? (quick ? 1 : 5)),
  connections: Number(args.connections),
  threads: Number(args.threads),
  timeoutS: 10,
  /** Before each measurement, wait up to this long for other processes to quieten (0: don't). */
  quietWaitMs: Number(args['quiet-wait'] ?? (quick ? 0 : 20)) * 1000,
  /** A measurement during which others used more cores than this is taken again once (full runs). */
  retryAboveOthers: quick ? Number.POSITIVE_INFINITY : DISTURBED,
  /** Past this much wall time, no more waiting for quiet and no second measurements. */
  budgetMs: Number(args.budget ?? 20) * 60_000,
};
const startMs = Date.now();
const inBudget = () => Date.now() - startMs < settings.budgetMs;
const pgUrl =
  args['pg-url'] ?? process.env.LUNIPAY_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const dialects = (args.only ? [args.only] : ['sqlite', 'postgres']) as ('sqlite' | 'postgres')[];

const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const runId = stamp.replace(/[^0-9]/g, '').slice(0, 14);
const workDir = join(ROOT, 'bench/results/tmp', stamp);
const log = (message: string) =>
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

function git(...argv: string[]): string {
  return spawnSync('git', argv, { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
}

function newestMtime(dir: string): number {
  return Math.max(
    0,
    ...readdirSync(dir, { withFileTypes: true, recursive: true })
      .filter((e) => e.isFile() && e.name.endsWith('.ts'))
      .map((e) => statSync(join(e.parentPath, e.name)).mtimeMs),
  );
}

/** Builds when dist/ is missing or older than any file in src/ (or when --build says so). */
function buildIfStale(): void {
  let built = 0;
  try {
    built = statSync(join(ROOT, 'dist/server.js')).mtimeMs;
  } catch {}
  if (!args.build && built > newestMtime(join(ROOT, 'src'))) {
    log('dist/ is up to date with src/');
    return;
  }
  log('npm run build');
  const result = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  if (result.status !== 0) throw new Error('npm run build failed');
}

const quietly = (roles: Omit<Roles, 'loadgen'>) =>
  settings.quietWaitMs > 0 && inBudget()
    ? waitForQuiet(roles, settings.quietWaitMs)
    : { waitedMs: 0, othersCores: 0 };

function measure(
  url: string,
  templates: Template[],
  tag: string,
  roles: Omit<Roles, 'loadgen'>,
  durationS: number,
  idsFile: string,
): Promise<WrkResult> {
  return runWrk({
    url,
    templates,
    idsFile,
    threads: settings.threads,
    connections: settings.connections,
    durationS,
    timeoutS: settings.timeoutS,
    tag,
    workDir,
    roles,
  });
}

/**
 * Warm-up, then the measurement; measured again once (after waiting for quiet) when other
 * processes took more than `retryAboveOthers` cores, keeping the less disturbed of the two.
 */
async function warmAndMeasure(
  url: string,
  templates: Template[],
  tag: string,
  rolesOf: () => Promise<Omit<Roles, 'loadgen'>>,
  idsFile: string,
): Promise<{ result: WrkResult; attempts: { rps: number; othersCores: number }[] }> {
  await measure(url, templates, `${tag}-w`, await rolesOf(), settings.warmupS, idsFile);
  const first = await measure(url, templates, tag, await rolesOf(), settings.durationS, idsFile);
  const attempts = [{ rps: first.rps, othersCores: first.cpu?.others ?? 0 }];
  if ((first.cpu?.others ?? 0) <= settings.retryAboveOthers || !inBudget())
    return { result: first, attempts };
  log(`${tag}: others used ${first.cpu?.others} cores; measuring again`);
  await quietly(await rolesOf());
  const second = await measure(url, templates, `${tag}-r`, await rolesOf(), settings.durationS, idsFile);
  attempts.push({ rps: second.rps, othersCores: second.cpu?.others ?? 0 });
  return { result: (second.cpu?.others ?? 0) < (first.cpu?.others ?? 0) ? second : first, attempts };
}

async function baselineRun(
  body: string,
  ctx: ScenarioContext,
  idsFile: string,
  n: number,
): Promise<WrkResult> {
  const server = await startBaseline(body, workDir);
  try {
    const roles = { server: server.pid };
    await quietly(roles);
    const { result } = await warmAndMeasure(
      server.url,
      baselineTemplates(ctx),
      `base${n}`,
      async () => roles,
      idsFile,
    );
    log(
      `baseline #${n}: ${result.rps} req/s, p50 ${result.latencyMs.p50} ms, cpu ${JSON.stringify(result.cpu)}`,
    );
    return result;
  } finally {
    await server.stop();
  }
}

async function runScenario(
  server: Running,
  baseline: Running,
  dialect: 'sqlite' | 'postgres',
  scenario: Scenario,
  seeded: Seeded,
  idsFile: string,
): Promise<ScenarioResult> {
  const rolesOf = async () =>
    dialect === 'postgres'
      ? { server: server.pid, database: await backendPids(pgUrl) }
      : { server: server.pid };
  const tag = `${runId}-${dialect}-${scenario.name}`;
  const quietWait = await quietly(await rolesOf());
  const shapes = await preflight(server.url, scenario, seeded.sampleIds, tag);
  const ctx = { secret: seeded.secret, deepCursor: seeded.deepCursor };
  const paired = await measure(
    baseline.url,
    baselineTemplates(ctx),
    `${tag}-base`,
    { server: baseline.pid },
    settings.durationS,
    idsFile,
  );
  const { result: r, attempts } = await warmAndMeasure(server.url, scenario.templates, tag, rolesOf, idsFile);
  log(
    `${dialect} ${scenario.name}: ${r.rps} req/s, p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, ` +
      `errors ${r.errors.total}, rss ${r.peakRssMb} MB, cpu ${JSON.stringify(r.cpu)}`,
  );
  return {
    name: scenario.name,
    description: scenario.description,
    ...r,
    ratio: 0,
    pairedBaselineRps: paired.rps,
    pairedRatio: Math.round((r.rps / paired.rps) * 1000) / 1000,
    perCoreRps: 0,
    perCoreRatio: 0,
    responseBytes: shapes.map((s) => s.bytes),
    quietWait,
    attempts,
  };
}

/**
 * One server process for all of a database's scenarios. On a shared machine something else may
 * kill it (a cleanup by process name, say): then the death is recorded, a new server starts and
 * that scenario runs once more. Anything else that goes wrong stops the run.
 */
async function runDatabase(
  dialect: 'sqlite' | 'postgres',
  seeded: Seeded,
  databaseUrl: string,
  idsFile: string,
  baseline: Running,
): Promise<DatabaseResult> {
  const wanted = args.scenario;
  const list = scenarios({ secret: seeded.secret, deepCursor: seeded.deepCursor }).filter(
    (s) => !wanted || wanted.includes(s.name),
  );
  const start = () => startServer({ databaseUrl, logDir: workDir, name: `server-${dialect}` });
  let server = await start();
  const results: ScenarioResult[] = [];
  const restarts: DatabaseResult['serverRestarts'] = [];
  try {
    for (const scenario of list) {
      try {
        results.push(await runScenario(server, baseline, dialect, scenario, seeded, idsFile));
      } catch (error) {
        const { exitCode, signalCode } = server.child;
        if (exitCode === null && signalCode === null) throw error;
        log(
          `the ${dialect} server exited (${exitCode ?? signalCode}) during ${scenario.name}; restarting it`,
        );
        restarts.push({ during: scenario.name, exit: String(exitCode ?? signalCode) });
        server = await start();
        results.push(await runScenario(server, baseline, dialect, scenario, seeded, idsFile));
      }
    }
  } finally {
    await server.stop();
  }
  return {
    dialect,
    seed: {
      count: seeded.count,
      seconds: Math.round(seeded.seedMs / 100) / 10,
      rowsPerSecond: Math.round(seeded.rowsPerSecond),
    },
    settings: seeded.databaseSettings,
    scenarios: results,
    serverPeakRssMb: Math.max(0, ...results.map((r) => r.hwmMb)),
    serverRestarts: restarts,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length % 2) return sorted[mid] as number;
  return Math.round(((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2);
}

async function main(): Promise<void> {
  const loadgen = wrkVersion();
  if (!loadgen) throw new Error('wrk is not installed: apt-get install -y wrk (or brew install wrk)');
  mkdirSync(workDir, { recursive: true });
  buildIfStale();
  const startedAt = new Date().toISOString();
  const baselineRuns: WrkResult[] = [];
  const databases: DatabaseResult[] = [];
  let baselineBody = '';
  for (const [i, dialect] of dialects.entries()) {
    const idsFile = join(workDir, `ids-${dialect}.txt`);
    log(`seeding ${dialect} with ${settings.customers.toLocaleString('en')} customers`);
    const db = await prepare(dialect, { customers: settings.customers, workDir, idsFile, pgUrl, runId });
    log(`seeded in ${Math.round(db.seeded.seedMs / 100) / 10} s`);
    const ctx = { secret: db.seeded.secret, deepCursor: db.seeded.deepCursor };
    if (i === 0) baselineBody = db.seeded.sampleCustomerJson;
    if (i === 0 || !quick)
      baselineRuns.push(await baselineRun(baselineBody, ctx, idsFile, baselineRuns.length + 1));
    // A baseline process kept for the pairs, idle between them: the warm-up before the first.
    const paired = await startBaseline(baselineBody, workDir);
    try {
      await measure(
        paired.url,
        baselineTemplates(ctx),
        `pair-w-${dialect}`,
        { server: paired.pid },
        settings.warmupS,
        idsFile,
      );
      databases.push(await runDatabase(dialect, db.seeded, db.url, idsFile, paired));
    } finally {
      await paired.stop();
      if (!args.keep) await db.drop();
    }
    if (!quick && i === dialects.length - 1) {
      baselineRuns.push(await baselineRun(baselineBody, ctx, idsFile, baselineRuns.length + 1));
    }
  }
  const baselineRps = median(baselineRuns.map((r) => r.rps));
  const baselinePerCore = median(baselineRuns.map(perCore));
  for (const db of databases) {
    for (const s of db.scenarios) {
      s.ratio = Math.round((s.rps / baselineRps) * 1000) / 1000;
      s.perCoreRps = perCore(s);
      s.perCoreRatio = Math.round((s.perCoreRps / baselinePerCore) * 1000) / 1000;
    }
  }
  const result: BenchResult = {
    startedAt,
    finishedAt: new Date().toISOString(),
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    quick,
    git: { commit: git('rev-parse', 'HEAD'), dirty: git('status', '--porcelain') !== '' },
    machine: machineInfo(),
    settings: {
      loadgen,
      threads: settings.threads,
      connections: settings.connections,
      durationS: settings.durationS,
      warmupS: settings.warmupS,
      timeoutS: settings.timeoutS,
      customers: settings.customers,
      server: `node ${START_ARGS.join(' ')} (as npm start), LUNIPAY_RATE_LIMIT=0, LUNIPAY_LOG_LEVEL=info (log lines to /dev/null), no Stripe keys`,
    },
    baseline: {
      runs: baselineRuns,
      rps: baselineRps,
      perCoreRps: baselinePerCore,
      bodyBytes: Buffer.byteLength(baselineBody),
    },
    databases,
    targets: evaluateTargets(databases, quick),
  };
  const base = join(ROOT, 'bench/results', stamp);
  writeFileSync(`${base}.json`, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(`${base}.md`, markdown(result));
  if (!args.keep) rmSync(workDir, { recursive: true, force: true });
  process.stdout.write(`${markdown(result)}\nwritten: bench/results/${stamp}.json and .md\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
