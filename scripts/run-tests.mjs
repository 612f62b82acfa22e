// Runs the test files under src/ and test/ with node's test runner (through tsx).
//
// Two lanes, told apart by the file name:
//   *.system.test.ts   may start processes (the server, worker or CLI from dist/, other node
//                      processes) or a browser. Only these need the build, so dist/ is built
//                      (transpiled; `npm run check` is what type-checks) before any of them runs.
//   every other *.test.ts  runs in the test's own process only (`app.inject`, databases, fake
//                      servers on loopback): the unit lane. test/helpers/processes.ts refuses
//                      to start a process from such a file.
//
//   node scripts/run-tests.mjs                    every test (what `npm test` runs after `npm run check`)
//   node scripts/run-tests.mjs --lane=unit        npm run test:unit
//   node scripts/run-tests.mjs --lane=system      npm run test:system
//   node scripts/run-tests.mjs test/x.test.ts …   just those files
// Other arguments starting with -- go to the test runner (e.g. --test-name-pattern=…).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const isSystem = (path) => path.endsWith('.system.test.ts');

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : find(path);
    return entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

const argv = process.argv.slice(2);
const lane = argv.find((a) => a.startsWith('--lane='))?.slice('--lane='.length);
if (lane !== undefined && lane !== 'unit' && lane !== 'system') {
  console.error(`run-tests: --lane is unit or system, not ${lane}`);
  process.exit(2);
}
const only = argv.filter((a) => !a.startsWith('--'));
const flags = argv.filter((a) => a.startsWith('--') && !a.startsWith('--lane='));
const files = (only.length > 0 ? only : [...find('src'), ...find('test')].sort()).filter(
  (path) => lane === undefined || isSystem(path) === (lane === 'system'),
);

if (files.some(isSystem)) {
  // Transpile only: types are checked by `npm run check`, and tsx runs the tests unchecked too.
  // Incremental, so an unchanged tree costs a second or two.
  const build = spawnSync(
    process.execPath,
    [
      'node_modules/typescript/bin/tsc',
      '-p',
      'tsconfig.build.json',
      '--noCheck',
      '--incremental',
      '--tsBuildInfoFile',
      'dist/.tsbuildinfo',
    ],
    { stdio: 'inherit' },
  );
  if (build.status !== 0) process.exit(build.status ?? 1);
}
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=120000', ...flags, ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
