import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from './processes.js';

/**
 * `npm run bench:event-cost [-- --only sqlite|postgres] [--rounds N] [--duration S]`: what the
 * event row costs `create`, measured against the same commit built without it.
 *
 * The comparator is HEAD checked out beside this tree with one change: the event hook
 * (`writeEventAndDeliveries`) taken out of `customerWriteHooks` in src/app.ts, so its creates
 * write the customer, its search row and its outbox work, and no event. The two servers take
 * turns (`npm run bench -- --quick --scenario create`, `rounds` times each), so both see the
 * machine in the same states; raw req/s are compared, since the paired baselines swing more
 * than the difference measured. Commit first: the comparator is built from HEAD, not from the
 * working tree.
 *
 * Beside req/s it gives the CPU each create takes (server and database process, as `npm run
 * bench` measures them, over req/s): what the event row adds to the work, whether or not the
 * throughput is bound by it. On PostgreSQL it is not (the server waits on the database part of
 * the time), so the two differ there. Runs of one build swing by up to a third in req/s, so
 * take five rounds or more.
 */

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '5' },
  },
});
const dialects = values.only ? [values.only] : ['sqlite', 'postgres'];
const rounds = Number(values.rounds);
const log = (m: string) => process.stderr.write(`[event-cost] ${m}\n`);

function run(command: string, args: string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${result.stderr}`);
  return result.stdout;
}

function comparator(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lunipay-without-events-'));
  run('git', ['worktree', 'add', '--detach', dir, 'HEAD'], ROOT);
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  const app = join(dir, 'src/app.ts');
  const text = readFileSync(app, 'utf8');
  const without = text.replace(/, writeEventAndDeliveries\]/, ']');
  if (without === text) throw new Error('src/app.ts: the event hook was not found in customerWriteHooks');
  // The import stays, unused: the build does not check for that.
  writeFileSync(app, without);
  run(join(ROOT, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.build.json'], dir);
  return dir;
}

interface CreateRun {
  rps: number;
  /** CPU time of the server and the database per create, in µs: server and database cores ÷ req/s. */
  cpuUs: number;
}

/** req/s and CPU per create of one quick `create` run in `tree`. */
function createRun(tree: string, dialect: string): CreateRun {
  const out = run(
    'npx',
    [
      'tsx',
      'bench/run.ts',
      '--quick',
      '--scenario',
      'create',
      '--only',
      dialect,
      '--duration',
      String(values.duration),
    ],
    tree,
  );
  const written = /written: (bench\/results\/\S+\.json)/.exec(out)?.[1];
  if (!written) throw new Error(`no result file in:\n${out}`);
  const result = JSON.parse(readFileSync(join(tree, written), 'utf8'));
  rmSync(join(tree, written));
  rmSync(join(tree, written.replace(/\.json$/, '.md')), { force: true });
  const scenario = result.databases[0]?.scenarios.find((s: { name: string }) => s.name === 'create');
  if (typeof scenario?.rps !== 'number') throw new Error(`no create figure in ${written}`);
  const cores = scenario.cpu.server + scenario.cpu.database;
  return { rps: scenario.rps, cpuUs: Math.round((cores / scenario.rps) * 1e6) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const without = comparator();
try {
  run('npm', ['run', 'build'], ROOT);
  for (const dialect of dialects) {
    const withEvent: CreateRun[] = [];
    const withoutEvent: CreateRun[] = [];
    for (let i = 0; i < rounds; i++) {
      withEvent.push(createRun(ROOT, dialect));
      withoutEvent.push(createRun(without, dialect));
      const [w, wo] = [withEvent.at(-1) as CreateRun, withoutEvent.at(-1) as CreateRun];
      log(
        `${dialect} round ${i + 1}: with ${w.rps} req/s, ${w.cpuUs} µs CPU; without ${wo.rps}, ${wo.cpuUs} µs`,
      );
    }
    const rps = (runs: CreateRun[]) => runs.map((r) => r.rps);
    const cpu = (runs: CreateRun[]) => runs.map((r) => r.cpuUs);
    const cost = 1 - median(rps(withEvent)) / median(rps(withoutEvent));
    const cpuCost = median(cpu(withEvent)) / median(cpu(withoutEvent)) - 1;
    process.stdout.write(
      `${dialect}: create with the event row ${rps(withEvent).join(', ')} req/s (median ${median(rps(withEvent))}); ` +
        `without ${rps(withoutEvent).join(', ')} (median ${median(rps(withoutEvent))}); ` +
        `the event row costs ${(cost * 100).toFixed(1)}% of create's throughput (goal ≤ 15%)\n` +
        `${dialect}: CPU per create (server and database) with ${cpu(withEvent).join(', ')} µs (median ${median(cpu(withEvent))}); ` +
        `without ${cpu(withoutEvent).join(', ')} (median ${median(cpu(withoutEvent))}); ` +
        `the event row adds ${(cpuCost * 100).toFixed(1)}%\n`,
    );
  }
} finally {
  run('git', ['worktree', 'remove', '--force', without], ROOT);
}
