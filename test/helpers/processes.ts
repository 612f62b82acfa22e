import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The one way tests and the bench run the project's own processes: the built `dist/NAME.js`
 * (compiled once by the test runner, not through tsx, whose compile would cost seconds per
 * start), with the node flags of its npm script, so a test's server runs as `npm start` does.
 * Only files named `*.system.test.ts` may start processes (see scripts/run-tests.mjs).
 */

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export type Entry = 'server' | 'worker' | 'cli';

/** The npm script that runs each entry point. */
const SCRIPTS: Record<Entry, string> = { server: 'start', worker: 'worker', cli: 'cli' };

/** `npm start`'s (or `npm run worker`'s, `npm run cli`'s) command after `node`: its flags and script. */
export function entryCommand(name: Entry): string[] {
  const { scripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const [node, ...rest] = (scripts[SCRIPTS[name]] ?? '').trim().split(/\s+/);
  if (node !== 'node' || rest.at(-1) !== `dist/${name}.js`) {
    throw new Error(`package.json's "${SCRIPTS[name]}" script is not \`node [flags] dist/${name}.js\``);
  }
  return rest;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Spawned {
  child: ChildProcess;
  pid: number;
  /** Everything written so far: stdout and stderr, interleaved as they arrived. */
  output(): string;
  stdout(): string;
  stderr(): string;
  /** Resolves once the process has exited and its output has been read to the end. */
  exited: Promise<Exit>;
  /** Sends the signal (unless the process is already gone) and waits for it to exit. */
  kill(signal?: NodeJS.Signals): Promise<Exit>;
}

export interface SpawnOptions {
  /** Node flags before the npm script's own, e.g. `--cpu-prof`. */
  nodeArgs?: string[];
  /** Where stdout and stderr go: piped and kept (the default), or file descriptors. */
  stdout?: 'pipe' | number;
  stderr?: 'pipe' | number;
}

/**
 * Starts an entry point with `env` over a bare environment (PATH and HOME only: nothing of the
 * test's own environment leaks into the child's configuration) and LUNIPAY_LOG_LEVEL=warn.
 */
export function spawnEntry(
  name: Entry,
  args: string[] = [],
  env: Record<string, string> = {},
  options: SpawnOptions = {},
): Spawned {
  // The test runner runs each file in a process of its own, with the file as its script.
  const file = process.argv[1] ?? '';
  if (/\.test\.ts$/.test(file) && !file.endsWith('.system.test.ts')) {
    throw new Error(`${file} starts dist/${name}.js: only *.system.test.ts files may start processes`);
  }
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...entryCommand(name), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LUNIPAY_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', options.stdout ?? 'pipe', options.stderr ?? 'pipe'],
  });
  let output = '';
  let stdout = '';
  let stderr = '';
  // Read to the end whether or not anyone looks: a child whose pipe fills up blocks.
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    output += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
    output += chunk.toString('utf8');
  });
  const exited = new Promise<Exit>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    pid: child.pid as number,
    output: () => output,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the command line to completion. */
export async function runCli(args: string[], env: Record<string, string>): Promise<RunResult> {
  const cli = spawnEntry('cli', args, env);
  const { code } = await cli.exited;
  return { code, stdout: cli.stdout(), stderr: cli.stderr() };
}

export interface ServerProcess extends Spawned {
  /** `http://127.0.0.1:PORT` */
  url: string;
}

/**
 * Starts the real server on a free port and resolves once it listens (read from its log, so the
 * log level must be `info` or lower), or rejects with what it printed if it exits first. `env`
 * adds to or overrides the environment; rate limiting is off unless `env` sets it.
 */
export async function startServer(env: Record<string, string>): Promise<ServerProcess> {
  const server = spawnEntry('server', [], {
    HOST: '127.0.0.1',
    PORT: '0',
    // Info, for the line that says which port it listens on.
    LUNIPAY_LOG_LEVEL: 'info',
    LUNIPAY_RATE_LIMIT: '0',
    ...env,
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      server.child.kill('SIGKILL');
      reject(new Error(`server did not start in time\n${server.stderr()}`));
    }, 30_000);
    const listening = () => {
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(server.stdout());
      if (!match?.[1]) return;
      clearTimeout(timer);
      server.child.stdout?.off('data', listening);
      resolve(match[1]);
    };
    server.child.stdout?.on('data', listening);
    void server.exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`server exited before listening (${code ?? signal})\n${server.stderr()}`));
    });
  });
  return { ...server, url };
}
