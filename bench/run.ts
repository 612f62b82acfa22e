import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildIfStale, gitState } from './build.js';
import { prepare } from './databases.js';
import { machineInfo } from './machine.js';
import { DISTURBED, measurer, median, perCore, ratio, serverRoles } from './measure.js';
import { benchOptions, type Dialect, parsedOrExit, runNames } from './options.js';
import { ROOT, type Running, START_ARGS, startBaseline, startReceiver, startServer } from './processes.js';
import { type BenchResult, type DatabaseResult, markdown, type ScenarioResult } from './report.js';
import { baselineTemplates, preflight, type Scenario, type ScenarioContext, scenarios } from './scenarios.js';
import { runSearchPart, type SearchFigures } from './search-run.js';
import { wantedSearchPart } from './search-scenarios.js';
import type { Seeded } from './seed.js';
import { evaluateTargets } from './targets.js';
import { type WebhookFigures, withEndpoint } from './webhooks.js';
import { requireWrk, type WrkResult } from './wrk.js';

/**
 * `npm run bench`: the service's benchmark (options in `options.ts`). Seeds each database through
 * the store, starts the built server on it as its own process, and drives every scenario with
 * wrk after a warm-up, each right after a measurement of a bare node:http baseline (the pair
 * shares the machine's drift). The baseline also runs on its own (at the start, between the
 * databases and at the end of a full run); every figure is a ratio to it, judged against the
 * targets in `targets.ts`.
 */

const options = parsedOrExit('bench', () => benchOptions());
const { stamp, runId, workDir } = runNames('bench');
const log = (message: string) =>
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
const TIMEOUT_S = 10;
const { measure, warmAndMeasure, quietly } = measurer({
  threads: options.threads,
  connections: options.connections,
  timeoutS: TIMEOUT_S,
  warmupS: options.warmupS,
  durationS: options.durationS,
  workDir,
  quietWaitMs: options.quietWaitMs,
  retryAboveOthers: options.quick ? Number.POSITIVE_INFINITY : DISTURBED,
  budgetMs: options.budgetMs,
  log,
});

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

/** One scenario, right after its paired baseline. The ratios to the run's median come at the end. */
async function runScenario(
  server: Running,
  baseline: Running,
  dialect: Dialect,
  scenario: Scenario,
  seeded: Seeded,
  idsFile: string,
  receiver: Running,
): Promise<ScenarioResult> {
  const rolesOf = serverRoles(dialect, server.pid, options.pgUrl);
  const tag = `${runId}-${dialect}-${scenario.name}`;
  const quietWait = await quietly(await rolesOf());
  const shapes = await preflight(server.url, scenario, seeded.sampleIds, tag);
  const ctx = { secret: seeded.secret, deepCursor: seeded.deepCursor };
  const paired = await measure(
    baseline.url,
    baselineTemplates(ctx),
    `${tag}-base`,
    { server: baseline.pid },
    options.durationS,
    idsFile,
  );
  const run = () => warmAndMeasure(server.url, scenario.templates, tag, rolesOf, idsFile);
  let webhook: WebhookFigures | undefined;
  let measured: Awaited<ReturnType<typeof run>>;
  if (scenario.webhook) {
    ({ result: measured, webhook } = await withEndpoint(
      server.url,
      seeded.secret,
      receiver.url,
      30_000,
      run,
    ));
  } else {
    measured = await run();
  }
  const { result: r, attempts } = measured;
  log(
    `${dialect} ${scenario.name}: ${r.rps} req/s, p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, ` +
      `errors ${r.errors.total}, rss ${r.peakRssMb} MB, cpu ${JSON.stringify(r.cpu)}` +
      (webhook
        ? `; delivered ${webhook.delivered} (${webhook.perSecond}/s), lag p50 ${webhook.lagMs.p50} ms, ` +
          `p99 ${webhook.lagMs.p99} ms (±1 s)`
        : ''),
  );
  return {
    name: scenario.name,
    description: scenario.description,
    ...r,
    ratio: 0,
    pairedBaselineRps: paired.rps,
    pairedRatio: ratio(r.rps, paired.rps),
    perCoreRps: 0,
    perCoreRatio: 0,
    responseBytes: shapes.map((s) => s.bytes),
    quietWait,
    attempts,
    ...(webhook ? { webhook } : {}),
  };
}

/**
 * One server process for all of a database's scenarios. On a shared machine something else may
 * kill it (a cleanup by process name, say): then the death is recorded, a new server starts and
 * that scenario runs once more. Anything else that goes wrong stops the run.
 */
async function runDatabase(
  dialect: Dialect,
  seeded: Seeded,
  databaseUrl: string,
  idsFile: string,
  baseline: Running,
): Promise<DatabaseResult> {
  const wanted = options.scenarios;
  const list = scenarios({ secret: seeded.secret, deepCursor: seeded.deepCursor }).filter(
    (s) => !wanted || wanted.includes(s.name),
  );
  // Private addresses allowed so that an endpoint may point at the receiver on loopback; the
  // scenarios without an endpoint are unaffected (the setting only relaxes URL checks).
  const startOn = (url: string, name: string) =>
    startServer({ databaseUrl: url, logDir: workDir, name, env: { LUNIPAY_WEBHOOK_ALLOW_PRIVATE: 'true' } });
  const start = () => startOn(databaseUrl, `server-${dialect}`);
  let server = await start();
  const receiver = await startReceiver(workDir);
  const results: ScenarioResult[] = [];
  const restarts: DatabaseResult['serverRestarts'] = [];
  let search: SearchFigures | undefined;
  try {
    for (const scenario of list) {
      try {
        results.push(await runScenario(server, baseline, dialect, scenario, seeded, idsFile, receiver));
      } catch (error) {
        const { exitCode, signalCode } = server.child;
        if (exitCode === null && signalCode === null) throw error;
        log(
          `the ${dialect} server exited (${exitCode ?? signalCode}) during ${scenario.name}; restarting it`,
        );
        restarts.push({ during: scenario.name, exit: String(exitCode ?? signalCode) });
        server = await start();
        results.push(await runScenario(server, baseline, dialect, scenario, seeded, idsFile, receiver));
      }
    }
    const part = wantedSearchPart(wanted);
    if (part.size > 0) {
      search = await runSearchPart({
        ...{ dialect, options, runId, workDir, log, seeded, databaseUrl, idsFile, baseline, server },
        startServer: startOn,
        wanted: part,
      });
    }
  } finally {
    await server.stop();
    await receiver.stop();
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
    ...(search ? { search } : {}),
  };
}

/** Seeds each database in turn and runs its scenarios, with the baseline's own runs around them. */
async function runAll(): Promise<{
  baselineRuns: WrkResult[];
  baselineBody: string;
  databases: DatabaseResult[];
}> {
  const baselineRuns: WrkResult[] = [];
  const databases: DatabaseResult[] = [];
  let baselineBody = '';
  for (const [i, dialect] of options.dialects.entries()) {
    const idsFile = join(workDir, `ids-${dialect}.txt`);
    log(`seeding ${dialect} with ${options.customers.toLocaleString('en')} customers`);
    const db = await prepare(dialect, {
      customers: options.customers,
      workDir,
      idsFile,
      pgUrl: options.pgUrl,
      runId,
    });
    log(`seeded in ${Math.round(db.seeded.seedMs / 100) / 10} s`);
    const ctx = { secret: db.seeded.secret, deepCursor: db.seeded.deepCursor };
    if (i === 0) baselineBody = db.seeded.sampleCustomerJson;
    if (i === 0 || !options.quick)
      baselineRuns.push(await baselineRun(baselineBody, ctx, idsFile, baselineRuns.length + 1));
    // A baseline process kept for the pairs, idle between them: the warm-up before the first.
    const paired = await startBaseline(baselineBody, workDir);
    try {
      await measure(
        paired.url,
        baselineTemplates(ctx),
        `pair-w-${dialect}`,
        { server: paired.pid },
        options.warmupS,
        idsFile,
      );
      databases.push(await runDatabase(dialect, db.seeded, db.url, idsFile, paired));
    } finally {
      await paired.stop();
      if (!options.keep) await db.drop();
    }
    if (!options.quick && i === options.dialects.length - 1) {
      baselineRuns.push(await baselineRun(baselineBody, ctx, idsFile, baselineRuns.length + 1));
    }
  }
  return { baselineRuns, baselineBody, databases };
}

async function main(): Promise<void> {
  const loadgen = requireWrk();
  mkdirSync(workDir, { recursive: true });
  buildIfStale(options.build, log);
  const startedAt = new Date().toISOString();
  const { baselineRuns, baselineBody, databases } = await runAll();
  const baselineRps = median(baselineRuns.map((r) => r.rps));
  const baselinePerCore = median(baselineRuns.map(perCore));
  for (const db of databases) {
    for (const s of db.scenarios) {
      s.ratio = ratio(s.rps, baselineRps);
      s.perCoreRps = perCore(s);
      s.perCoreRatio = ratio(s.perCoreRps, baselinePerCore);
    }
  }
  const result: BenchResult = {
    startedAt,
    finishedAt: new Date().toISOString(),
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    quick: options.quick,
    git: gitState(),
    machine: machineInfo(),
    settings: {
      loadgen,
      threads: options.threads,
      connections: options.connections,
      durationS: options.durationS,
      warmupS: options.warmupS,
      timeoutS: TIMEOUT_S,
      customers: options.customers,
      server: `node ${START_ARGS.join(' ')} (as npm start), LUNIPAY_RATE_LIMIT=0, LUNIPAY_LOG_LEVEL=info (log lines to /dev/null), no Stripe keys`,
    },
    baseline: {
      runs: baselineRuns,
      rps: baselineRps,
      perCoreRps: baselinePerCore,
      bodyBytes: Buffer.byteLength(baselineBody),
    },
    databases,
    targets: evaluateTargets(databases, options.quick),
  };
  const base = join(ROOT, 'bench/results', stamp);
  writeFileSync(`${base}.json`, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(`${base}.md`, markdown(result));
  if (!options.keep) rmSync(workDir, { recursive: true, force: true });
  process.stdout.write(`${markdown(result)}\nwritten: bench/results/${stamp}.json and .md\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
