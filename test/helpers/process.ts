import { spawn } from 'node:child_process';
import { once } from 'node:events';

const ROOT = new URL('../../', import.meta.url).pathname;

/**
 * How a test runs one of the entry points as its own process: the built `dist/NAME.js`, as
 * `npm start` does (the test runner builds first), not through tsx, whose compile on every
 * start would cost seconds per process.
 */
export function entryArgs(name: 'server' | 'cli' | 'worker', args: string[] = []): string[] {
  return [`${ROOT}dist/${name}.js`, ...args];
}

function baseEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  // Only what the child needs: nothing from the test's own environment leaks into its config.
  return { PATH: process.env.PATH, HOME: process.env.HOME, LUNIPAY_LOG_LEVEL: 'warn', ...env };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the command line to completion. */
export async function runCli(args: string[], env: Record<string, string>): Promise<RunResult> {
  const child = spawn(process.execPath, entryArgs('cli', args), {
    cwd: ROOT,
    env: baseEnv(env),
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d;
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d;
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}
