import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';

const ROOT = new URL('../../', import.meta.url).pathname;

/**
 * How a test runs one of the entry points as its own process: the built `dist/NAME.js`, as
 * `npm start` does (the test runner builds first), not through tsx, whose compile on every
 * start would cost seconds per process.
 */
export function entryArgs(name: 'server' | 'cli' | 'worker', args: string[] = []): string[] {
  return [`${ROOT}dist/${name}.js`, ...args];
}

/** A port that was free a moment ago, for a server started as its own process. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
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

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (or signal name) once the process ends. */
  exited: Promise<number | string | null>;
}

/** Starts the server as its own process and resolves once it answers /healthz. */
export async function startServer(env: Record<string, string>): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, entryArgs('server'), {
    cwd: ROOT,
    env: baseEnv({ HOST: '127.0.0.1', PORT: String(port), ...env }),
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d;
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d;
  });
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string | null);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited early: ${output}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {}
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server did not start: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url, child, output: () => output, exited };
}
