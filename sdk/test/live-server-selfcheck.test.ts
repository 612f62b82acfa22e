/**
 * Keeps the live-server hook honest until a real server runs it: the live suite is run, in a child
 * process, against the contract stub (which, like a real server, accepts only its one key). It
 * must run its tests and pass them all, the real-limiter 429 case aside (skipped without
 * LUNIPAY_SDK_TEST_RATE_LIMIT).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { FaultyServer } from './fault-server.js';
import { freshKey, startStub } from './stub-server.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const key = freshKey();
let server: FaultyServer;
before(async () => {
  ({ server } = await startStub({ knownKeys: [key] }));
});
after(() => server.close());

it('the live-server suite passes against the contract stub', {
  skip:
    !!process.env.LUNIPAY_SDK_TEST_BASE_URL &&
    'a real server is configured: the live suite runs against it instead',
  timeout: 120_000,
}, async () => {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LUNIPAY_SDK_TEST_BASE_URL: server.url,
    LUNIPAY_SDK_TEST_KEY: key,
  };
  delete env.NODE_TEST_CONTEXT; // or the child thinks it is one of this runner's workers
  delete env.LUNIPAY_SDK_TEST_RATE_LIMIT;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-reporter=tap', 'test/live-server.test.ts'],
    {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const count = (name: string): number =>
    Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(output)?.[1] ?? -1);
  assert.equal(code, 0, output);
  assert.equal(count('fail'), 0, output);
  assert.ok(count('pass') >= 18, `expected the live suite to run, got:\n${output}`);
  assert.equal(count('skipped'), 1, output);
});
