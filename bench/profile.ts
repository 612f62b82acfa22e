import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { summariseFile, toMarkdown } from './cpuprofile.js';
import { backendPids, prepare } from './databases.js';
import { machineInfo } from './machine.js';
import { ROOT, startServer } from './processes.js';
import { preflight, scenarios } from './scenarios.js';
import { runWrk, wrkVersion } from './wrk.js';

/**
 * `npm run bench:profile`: the server under `node --cpu-prof`, one fresh process per scenario
 * and database, driven by wrk as in the benchmark; prints and writes (bench/results/profile-*.md)
 * where its CPU time goes. The profile covers the whole process, start-up included (well under a
 * second of the run; a 2 s warm-up is in it too). Build first (`npm run build`); profiling slows the server, so its req/s are
 * not benchmark figures.
 */

const { values: args } = parseArgs({
  options: {
    only: { type: 'string' },
    scenario: { type: 'string', multiple: true },
    customers: { type: 'string', default: '50000' },
    duration: { type: 'string', default: '20' },
    connections: { type: 'string', default: '50' },
    top: { type: 'string', default: '25' },
    'pg-url': { type: 'string' },
  },
});

const pgUrl =
  args['pg-url'] ?? process.env.LUNIPAY_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const runId = `p${stamp.replace(/[^0-9]/g, '').slice(0, 14)}`;
const workDir = join(ROOT, 'bench/results/tmp', `profile-${stamp}`);
const wanted = args.scenario ?? ['retrieve', 'create', 'create_idempotent'];
const dialects = (args.only ? [args.only] : ['sqlite', 'postgres']) as ('sqlite' | 'postgres')[];
const log = (m: string) => process.stderr.write(`[profile] ${m}\n`);

async function main(): Promise<void> {
  if (!wrkVersion()) throw new Error('wrk is not installed: apt-get install -y wrk');
  mkdirSync(workDir, { recursive: true });
  const m = machineInfo();
  const sections: string[] = [
    `# CPU profiles, ${stamp}`,
    '',
    `${m.nproc} cores (${m.cpuModel}), Node ${m.node}; wrk (1 thread, ${args.connections} connections) shares the cores with the server. ` +
      `${Number(args.customers).toLocaleString('en')} customers seeded; ${args.duration} s of load per profile; LUNIPAY_RATE_LIMIT=0, log level info to /dev/null.`,
    '',
  ];
  for (const dialect of dialects) {
    const idsFile = join(workDir, `ids-${dialect}.txt`);
    const db = await prepare(dialect, { customers: Number(args.customers), workDir, idsFile, pgUrl, runId });
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
        });
        try {
          await preflight(server.url, scenario, db.seeded.sampleIds, `${runId}-${dialect}`);
          const load = async (durationS: number, suffix: string) =>
            runWrk({
              url: server.url,
              templates: scenario.templates,
              idsFile,
              threads: 1,
              connections: Number(args.connections),
              durationS,
              timeoutS: 10,
              tag: `${runId}-${dialect}-${scenario.name}${suffix}`,
              workDir,
              roles: {
                server: server.pid,
                ...(dialect === 'postgres' ? { database: await backendPids(pgUrl) } : {}),
              },
            });
          // A short warm-up first, so the pool's connections exist when its backends are listed.
          await load(2, '-w');
          const r = await load(Number(args.duration), '');
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
        }
        const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
        if (!file) throw new Error(`no profile written in ${profDir}`);
        sections.push(
          toMarkdown(
            `${dialect} · ${scenario.name} (${file})`,
            summariseFile(join(profDir, file), Number(args.top)),
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
