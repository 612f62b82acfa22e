import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { entryArgs } from './process.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface ServerProcess {
  /** `http://127.0.0.1:PORT` */
  url: string;
  pid: number;
  child: ChildProcess;
  /** Everything it wrote so far, stdout and stderr. */
  output(): string;
  /** Resolves once the process has exited, however it ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends the signal and waits for the process to be gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts the real server (the built `dist/server.js`, as `npm start` does) in its own process on
 * a free port, and resolves once it listens (read from its log, so the log level must be `info` or
 * lower) or rejects with what it printed if it exits first. `env` adds to or overrides the
 * environment; rate limiting is off unless `env` sets it.
 */
export async function startServer(env: Record<string, string>): Promise<ServerProcess> {
  // Only what the child needs: nothing from the test's own environment leaks into its config.
  const childEnv: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    HOST: '127.0.0.1',
    PORT: '0',
    // Info, for the line that says which port it listens on.
    LUNIPAY_LOG_LEVEL: 'info',
    LUNIPAY_RATE_LIMIT: '0',
    ...env,
  };
  const child = spawn(process.execPath, entryArgs('server'), {
    cwd: ROOT,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let stderr = '';
  let output = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
    output += chunk.toString('utf8');
  });
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });

  // One JSON log line per request keeps coming: stdout is read to the end, or the child blocks.
  const url = await new Promise<string>((resolve, reject) => {
    let buffered = '';
    let listening = false;
    const timer = setTimeout(() => reject(new Error(`server did not start in time\n${stderr}`)), 30_000);
    child.stdout.on('data', (chunk: Buffer) => {
      if (listening) return;
      buffered += chunk.toString('utf8');
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(buffered);
      if (match?.[1]) {
        listening = true;
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`server exited before listening (${code ?? signal})\n${stderr}`));
    });
  });

  return {
    url,
    pid: child.pid as number,
    child,
    output: () => output,
    exited,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
