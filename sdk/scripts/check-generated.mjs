// Fails when src/generated/openapi.ts is out of date with ../openapi.json: regenerates it into a
// temporary file with the very command of `npm run generate` (read from package.json, so the two
// cannot disagree) and compares the bytes. Run first by `npm test`, so a server schema change
// that was exported to openapi.json but not regenerated here stops the SDK's tests.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUTPUT = 'src/generated/openapi.ts';
const generate = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts.generate;
const [bin, ...args] = generate.split(/\s+/);
const out = args.indexOf('-o') + 1;
if (bin !== 'openapi-typescript' || out === 0 || args[out] !== OUTPUT) {
  console.error(
    `check-generated: expected "generate" to be \`openapi-typescript … -o ${OUTPUT}\`, got \`${generate}\``,
  );
  process.exit(1);
}

const dir = mkdtempSync(join(tmpdir(), 'lunipay-sdk-generate-'));
try {
  const fresh = join(dir, 'openapi.ts');
  args[out] = fresh;
  // The local bin, as npm would run it; shell: false so the temp path needs no quoting.
  const run = spawnSync(join(root, 'node_modules', '.bin', bin), args, { cwd: root, encoding: 'utf8' });
  if (run.status !== 0) {
    console.error(`check-generated: \`${generate}\` failed:\n${run.stderr || run.stdout}`);
    process.exit(1);
  }
  let committed = '';
  try {
    committed = readFileSync(join(root, OUTPUT), 'utf8');
  } catch {
    // missing counts as out of date
  }
  if (committed !== readFileSync(fresh, 'utf8')) {
    console.error(
      `check-generated: ${OUTPUT} is out of date with ../openapi.json: run \`npm run generate\`.`,
    );
    process.exit(1);
  }
  console.log(`check-generated: ${OUTPUT} is up to date with ../openapi.json`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
