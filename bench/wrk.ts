import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CpuShare, type Roles, Sampler } from './machine.js';
import { ROOT } from './processes.js';

/**
 * wrk drives the load: written in C, it spends far less of the shared CPU per request than a
 * load generator in JavaScript would, which matters when it shares two cores with the server.
 * Requests come from bench/wrk/scenario.lua, fed a spec of request templates.
 */

export interface Template {
  /** Relative weight when a scenario mixes several requests. */
  weight: number;
  method: string;
  /** May hold {id} (a random sampled customer id) and {uniq} (unique within the run). */
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface WrkOptions {
  url: string;
  templates: Template[];
  idsFile?: string;
  threads: number;
  connections: number;
  durationS: number;
  timeoutS: number;
  /** Prefix of {uniq} values: unique per scenario and run. */
  tag: string;
  workDir: string;
  roles: Omit<Roles, 'loadgen'>;
}

export interface WrkResult {
  requests: number;
  durationS: number;
  rps: number;
  bytes: number;
  /** Socket errors, timeouts and responses with status ≥ 400 (what wrk counts as a status error). */
  errors: { connect: number; read: number; write: number; status: number; timeout: number; total: number };
  latencyMs: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number };
  cpu: CpuShare | null;
  /** The other processes that took most CPU during the measurement, when others took any. */
  othersTop: { process: string; cores: number }[];
  /** Process and thread ids handed out on the machine during the measurement. */
  newPids: number;
  peakRssMb: number;
  hwmMb: number;
}

export function wrkVersion(): string | null {
  const result = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  if (result.error) return null;
  return `${result.stdout}${result.stderr}`.split('\n')[0]?.trim() ?? 'wrk';
}

/** wrk's version line, or an error saying how to install it. */
export function requireWrk(): string {
  const version = wrkVersion();
  if (!version) throw new Error('wrk is not installed (Debian or Ubuntu: apt-get install -y wrk)');
  return version;
}

function spec(templates: Template[], idsFile: string | undefined): string {
  const lines: string[] = [];
  if (idsFile) lines.push(`ids ${idsFile}`);
  for (const t of templates) {
    lines.push(`req ${t.weight}`, `method ${t.method}`, `path ${t.path}`);
    for (const [name, value] of Object.entries(t.headers)) lines.push(`header ${name}: ${value}`);
    if (t.body !== undefined) lines.push(`body ${t.body}`);
    lines.push('end');
  }
  return `${lines.join('\n')}\n`;
}

const ms = (us: number) => Math.round(us / 10) / 100;

export async function runWrk(options: WrkOptions): Promise<WrkResult> {
  const specPath = join(options.workDir, `${options.tag}.spec`);
  writeFileSync(specPath, spec(options.templates, options.idsFile));
  const child = spawn(
    'wrk',
    [
      `-t${options.threads}`,
      `-c${options.connections}`,
      `-d${options.durationS}s`,
      `--timeout`,
      `${options.timeoutS}s`,
      '-s',
      join(ROOT, 'bench/wrk/scenario.lua'),
      options.url,
    ],
    {
      env: { PATH: process.env.PATH, BENCH_SPEC: specPath, BENCH_TAG: options.tag },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const sampler = new Sampler({ ...options.roles, loadgen: child.pid });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString('utf8');
  });
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString('utf8');
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const sampled = sampler.stop();
  const line = /^BENCHJSON (.*)$/m.exec(stdout)?.[1];
  if (code !== 0 || !line) throw new Error(`wrk failed (${code}): ${stderr || stdout}`);
  const raw = JSON.parse(line) as {
    duration_us: number;
    requests: number;
    bytes: number;
    errors: WrkResult['errors'];
    latency_us: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number };
  };
  const e = raw.errors;
  const durationS = raw.duration_us / 1e6;
  return {
    requests: raw.requests,
    durationS: Math.round(durationS * 100) / 100,
    rps: Math.round(raw.requests / durationS),
    bytes: raw.bytes,
    errors: { ...e, total: e.connect + e.read + e.write + e.status + e.timeout },
    latencyMs: {
      p50: ms(raw.latency_us.p50),
      p90: ms(raw.latency_us.p90),
      p99: ms(raw.latency_us.p99),
      p999: ms(raw.latency_us.p999),
      max: ms(raw.latency_us.max),
      mean: ms(raw.latency_us.mean),
    },
    cpu: sampled.cpu,
    othersTop: sampled.othersTop,
    newPids: sampled.newPids,
    peakRssMb: sampled.peakRssMb,
    hwmMb: sampled.hwmMb,
  };
}
