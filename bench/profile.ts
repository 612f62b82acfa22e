import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildIfStale } from './build.js';
import { summariseFile, toMarkdown } from './cpuprofile.js';
import { prepare } from './databases.js';
import { machineInfo } from './machine.js';
import { measurer, serverRoles } from './measure.js';
import { parsedOrExit, profileOptions, runNames } from './options.js';
import { ROOT, startReceiver, startServer } from './processes.js';
import { preflight, scenarios } from './scenarios.js';
import { withEndpoint } from './webhooks.js';
import { requireWrk } from './wrk.js';

/**
 * `npm run bench:profile` (options in `options.ts`): the server under `node --cpu-prof`, one
 * fresh process per scenario and database, driven by wrk as in the benchmark; prints and writes
 * (bench/results/profile-*.md) where its CPU time goes. The profile covers the whole process,
 * start-up included (well under a second of the run; the 2 s warm-up is in it too). Profiling
 * slows the server, so its req/s are not benchmark figures.
 */

const options = parsedOrExit('bench:profile', () => profileOptions());
const { stamp, runId, workDir } = runNames('profile');
const wanted = options.scenarios ?? ['retrieve', 'create', 'create_idempotent'];
const log = (m: string) => process.stderr.write(`[profile] ${m}\n`);
// A short warm-up first, so the pool's connections exist when its backends are listed.
const { warmAndMeasure } = measurer({
  threads: 1,
  connections: options.connections,
  timeoutS: 10,
  warmupS: 2,
  durationS: options.durationS,
  workDir,
  quietWaitMs: 0,
  retryAboveOthers: Number.POSITIVE_INFINITY,
  budgetMs: Number.POSITIVE_INFINITY,
  log,
});

async function main(): Promise<void> {
  requireWrk();
  mkdirSync(workDir, { recursive: true });
  buildIfStale(false, log);
  const m = machineInfo();
  const sections: string[] = [
    `# CPU profiles, ${stamp}`,
    '',
    `${m.nproc} cores (${m.cpuModel}), Node ${m.node}; wrk (1 thread, ${options.connections} connections) shares the cores with the server. ` +
      `${options.customers.toLocaleString('en')} customers seeded; ${options.durationS} s of load per profile; LUNIPAY_RATE_LIMIT=0, log level info to /dev/null.`,
    '',
  ];
  for (const dialect of options.dialects) {
    const idsFile = join(workDir, `ids-${dialect}.txt`);
    const db = await prepare(dialect, {
      customers: options.customers,
      workDir,
      idsFile,
      pgUrl: options.pgUrl,
      runId,
    });
    try {
      for (const scenario of scenarios({ secret: db.seeded.secret, deepCursor: db.seeded.deepCursor })) {
        if (!wanted.includes(scenario.name)) continue;
        const profDir = join(workDir, `${dialect}-${scenario.name}`);
        mkdirSync(profDir, { recursive: true });
        const server = await startServer({
          databaseUrl: db.url,
          logDir: workDir,
          name: `server-${dialect}-${scenario.name}`,
          nodeArgs: ['--cpu-prof', '--cpu-prof-dir', profDir],
          // As in the benchmark: an endpoint may point at the receiver on loopback.
          env: { LUNIPAY_WEBHOOK_ALLOW_PRIVATE: 'true' },
        });
        // A webhook scenario runs with its endpoint enabled, so the deliveries are in the profile.
        const receiver = scenario.webhook ? await startReceiver(workDir) : undefined;
        try {
          await preflight(server.url, scenario, db.seeded.sampleIds, `${runId}-${dialect}`);
          const run = () =>
            warmAndMeasure(
              server.url,
              scenario.templates,
              `${runId}-${dialect}-${scenario.name}`,
              serverRoles(dialect, server.pid, options.pgUrl),
              idsFile,
            );
          const { result: r } = receiver
            ? (await withEndpoint(server.url, db.seeded.secret, receiver.url, 30_000, run)).result
            : await run();
          log(
            `${dialect} ${scenario.name}: ${r.rps} req/s under the profiler, errors ${r.errors.total}, cpu ${JSON.stringify(r.cpu)}`,
          );
          sections.push(
            `## ${dialect} · ${scenario.name}`,
            '',
            `${r.rps} req/s under the profiler, ${r.errors.total} errors; CPU cores server ${r.cpu?.server}, wrk ${r.cpu?.loadgen}, database ${r.cpu?.database}, others ${r.cpu?.others}.`,
            '',
          );
        } finally {
          await server.stop();
          await receiver?.stop();
        }
        const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
        if (!file) throw new Error(`no profile written in ${profDir}`);
        sections.push(
          toMarkdown(
            `${dialect} · ${scenario.name} (${file})`,
            summariseFile(join(profDir, file), options.top),
          ),
        );
      }
    } finally {
      await db.drop();
    }
  }
  const out = join(ROOT, 'bench/results', `profile-${stamp}.md`);
  writeFileSync(out, sections.join('\n'));
  process.stdout.write(`${sections.join('\n')}\nwritten: ${out}\nprofiles kept in ${workDir}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`profile failed: ${(error as Error).stack ?? error}\n`);
  rmSync(workDir, { recursive: true, force: true });
  process.exit(1);
});
