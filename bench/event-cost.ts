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

/** req/s of one quick `create` run in `tree`. */
function createRps(tree: string, dialect: string): number {
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
  const rps = result.databases[0]?.scenarios.find((s: { name: string }) => s.name === 'create')?.rps;
  if (typeof rps !== 'number') throw new Error(`no create figure in ${written}`);
  return rps;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const without = comparator();
try {
  run('npm', ['run', 'build'], ROOT);
  for (const dialect of dialects) {
    const withEvent: number[] = [];
    const withoutEvent: number[] = [];
    for (let i = 0; i < rounds; i++) {
      withEvent.push(createRps(ROOT, dialect));
      withoutEvent.push(createRps(without, dialect));
      log(`${dialect} round ${i + 1}: with ${withEvent.at(-1)}, without ${withoutEvent.at(-1)} req/s`);
    }
    const cost = 1 - median(withEvent) / median(withoutEvent);
    process.stdout.write(
      `${dialect}: create with the event row ${withEvent.join(', ')} req/s (median ${median(withEvent)}); ` +
        `without ${withoutEvent.join(', ')} (median ${median(withoutEvent)}); ` +
        `the event row costs ${(cost * 100).toFixed(1)}% of create's throughput (goal ≤ 15%)\n`,
    );
  }
} finally {
  run('git', ['worktree', 'remove', '--force', without], ROOT);
}
