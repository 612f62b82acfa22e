import { type ChildProcess, spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { entryCommand, ROOT, spawnEntry } from '../test/helpers/processes.js';

/**
 * The processes under test, each on its own: the real server as built, started the way the tests
 * start it (test/helpers/processes.ts: `npm start`'s node flags and `dist/server.js`, compiled JS
 * as in production), and the bare node:http baseline. The server still formats and
 * writes its JSON log line per request, but to /dev/null: a log file would cost disk writeback
 * that competes with SQLite's fsyncs, and a pipe would cost the harness CPU. Stderr (start-up
 * failures) goes to a file.
 */

export { ROOT };

/** `npm start`'s command after `node`: its flags and `dist/server.js`, so both run the same way. */
export const START_ARGS = entryCommand('server');

export interface Running {
  url: string;
  pid: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitUntil(url: string, child: ChildProcess, logPath: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `${child.spawnargs.join(' ')} exited (${child.exitCode ?? child.signalCode}); see ${logPath}`,
      );
    }
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {}
    await sleep(100);
  }
  throw new Error(`${url} did not answer within 60 s; see ${logPath}`);
}

/** Where a process writes: stdout discarded, stderr (start-up failures) to `logPath`. */
function outputs(logPath: string): { stdout: number; stderr: number } {
  return { stdout: openSync('/dev/null', 'w'), stderr: openSync(logPath, 'w') };
}

function stopper(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(killer);
  };
}

export interface ServerOptions {
  databaseUrl: string;
  logDir: string;
  name: string;
  /** Extra node flags, e.g. `--cpu-prof`. */
  nodeArgs?: string[];
  logLevel?: string;
  /** More environment, e.g. LUNIPAY_WEBHOOK_ALLOW_PRIVATE for a receiver on loopback. */
  env?: Record<string, string>;
}

/**
 * The server as `npm start` runs it, with rate limiting off (LUNIPAY_RATE_LIMIT=0: the default
 * 1000/s per key would cap every scenario) and logging at its default level. Only PATH and
 * HOME come from the harness's environment.
 */
export async function startServer(options: ServerOptions): Promise<Running> {
  const port = await freePort();
  const logPath = join(options.logDir, `${options.name}.log`);
  const { child } = spawnEntry(
    'server',
    [],
    {
      HOST: '127.0.0.1',
      PORT: String(port),
      LUNIPAY_DATABASE_URL: options.databaseUrl,
      LUNIPAY_RATE_LIMIT: '0',
      LUNIPAY_LOG_LEVEL: options.logLevel ?? 'info',
      ...options.env,
    },
    { nodeArgs: options.nodeArgs ?? [], ...outputs(logPath) },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitUntil(`${url}/healthz`, child, logPath);
  return { url, pid: child.pid as number, child, stop: stopper(child) };
}

export async function startBaseline(body: string, logDir: string): Promise<Running> {
  const port = await freePort();
  const logPath = join(logDir, 'baseline.log');
  const { stdout, stderr } = outputs(logPath);
  const child = spawn(process.execPath, ['bench/baseline-server.mjs'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, PORT: String(port), BASELINE_BODY: body },
    stdio: ['ignore', stdout, stderr],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUntil(url, child, logPath);
  return { url, pid: child.pid as number, child, stop: stopper(child) };
}

/** The webhook receiver (bench/webhook-receiver.mjs): 200 to every delivery, counted. */
export async function startReceiver(logDir: string): Promise<Running> {
  const port = await freePort();
  const logPath = join(logDir, 'receiver.log');
  const { stdout, stderr } = outputs(logPath);
  const child = spawn(process.execPath, ['bench/webhook-receiver.mjs'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, PORT: String(port) },
    stdio: ['ignore', stdout, stderr],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUntil(url, child, logPath);
  return { url, pid: child.pid as number, child, stop: stopper(child) };
}
