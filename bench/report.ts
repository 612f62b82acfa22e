import type { MachineInfo } from './machine.js';
import type { WrkResult } from './wrk.js';

/** The JSON written to bench/results/, and the Markdown summary made from it. */

export interface ScenarioResult extends WrkResult {
  name: string;
  description: string;
  /** Requests per second as a fraction of the baseline's (the median of the run's baseline runs). */
  ratio: number;
  /**
   * The baseline measured just before this scenario, with the same load, and the ratio to it:
   * the machine's speed drifts over a run (the same baseline has measured 28,000 and 41,000
   * req/s twenty minutes apart here), and a pair taken a few seconds apart shares the drift.
   */
  pairedBaselineRps: number;
  pairedRatio: number;
  /**
   * Requests per second per core the server and its database used, as a fraction of the
   * baseline's requests per core: steadier than `ratio` when other processes take CPU, since
   * it asks how much work a request costs rather than how much CPU was left over.
   */
  perCoreRps: number;
  perCoreRatio: number;
  /** Response sizes seen by the preflight, bytes. */
  responseBytes: number[];
  quietWait: { waitedMs: number; othersCores: number };
  /** Every measurement taken: a second one only when other processes disturbed the first. */
  attempts: { rps: number; othersCores: number }[];
}

export interface DatabaseResult {
  dialect: 'sqlite' | 'postgres';
  seed: { count: number; seconds: number; rowsPerSecond: number };
  /** Version and durability settings (synchronous, fsync, …). */
  settings: Record<string, string>;
  scenarios: ScenarioResult[];
  /** The server's VmHWM when it stopped: peak RSS over all its scenarios. */
  serverPeakRssMb: number;
  /** Times the server process died under the run (killed from outside, or crashed) and was restarted. */
  serverRestarts: { during: string; exit: string }[];
}

export interface BenchResult {
  startedAt: string;
  finishedAt: string;
  command: string;
  quick: boolean;
  git: { commit: string; dirty: boolean };
  machine: MachineInfo;
  settings: {
    loadgen: string;
    threads: number;
    connections: number;
    durationS: number;
    warmupS: number;
    timeoutS: number;
    customers: number;
    server: string;
  };
  baseline: { runs: WrkResult[]; rps: number; perCoreRps: number; bodyBytes: number };
  databases: DatabaseResult[];
  targets: Target[];
}

export interface Target {
  target: string;
  dialect: 'sqlite' | 'postgres';
  value: number;
  goal: string;
  met: boolean;
  note?: string;
}

const find = (db: DatabaseResult, name: string) => db.scenarios.find((s) => s.name === name);
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

export function evaluateTargets(databases: DatabaseResult[], quick: boolean): Target[] {
  const out: Target[] = [];
  for (const db of databases) {
    const sqlite = db.dialect === 'sqlite';
    const retrieve = find(db, 'retrieve');
    const create = find(db, 'create');
    const first = find(db, 'list_first_10');
    const deep = find(db, 'list_deep_10');
    const atScale = quick
      ? `measured at ${db.seed.count.toLocaleString('en')} customers, not 1,000,000`
      : undefined;
    if (retrieve) {
      const goal = sqlite ? 0.5 : 0.25;
      out.push({
        note: `× the run's median baseline: ${round(retrieve.ratio)}; per core: ${round(retrieve.perCoreRatio)}`,
        target: 'retrieve',
        dialect: db.dialect,
        value: round(retrieve.pairedRatio),
        goal: `≥ ${goal} × paired baseline`,
        met: retrieve.pairedRatio >= goal,
      });
    }
    if (create) {
      const goal = sqlite ? 0.25 : 0.15;
      out.push({
        note: `× the run's median baseline: ${round(create.ratio)}; per core: ${round(create.perCoreRatio)}`,
        target: 'create (durable)',
        dialect: db.dialect,
        value: round(create.pairedRatio),
        goal: `≥ ${goal} × paired baseline`,
        met: create.pairedRatio >= goal,
      });
    }
    if (first && deep) {
      const value = deep.latencyMs.p50 / first.latencyMs.p50;
      out.push({
        target: 'list deep p50 ÷ first p50',
        dialect: db.dialect,
        value: round(value),
        goal: '≤ 1.3',
        met: value <= 1.3,
        note: atScale,
      });
    }
    out.push({
      target: 'server peak RSS (MB)',
      dialect: db.dialect,
      value: round(db.serverPeakRssMb, 0),
      goal: '≤ 200',
      met: db.serverPeakRssMb <= 200,
      note: atScale,
    });
  }
  return out;
}

/** Other processes took more than this many cores during a measurement: its figures are marked. */
export const DISTURBED = 0.3;

const cores = (r: WrkResult) => {
  if (!r.cpu) return '–';
  const c = r.cpu;
  // Older results have no irq/steal split: their "other" holds it.
  const kernel = c.irq === undefined ? '–' : Math.round((c.irq + c.steal) * 100) / 100;
  return `${c.server} / ${c.loadgen} / ${c.database} / ${kernel} / ${c.others}${c.others > DISTURBED ? ' ⚠' : ''}`;
};

/** Requests per second per core used by the server (and its database). */
export function perCore(r: WrkResult): number {
  const used = (r.cpu?.server ?? 0) + (r.cpu?.database ?? 0);
  return used > 0 ? Math.round(r.rps / used) : 0;
}

export function markdown(result: BenchResult): string {
  const m = result.machine;
  const s = result.settings;
  const lines: string[] = [];
  lines.push(
    `Run ${result.startedAt} (${result.quick ? 'quick' : 'full'}), commit ${result.git.commit.slice(0, 10)}${result.git.dirty ? ' (dirty)' : ''}.`,
    '',
    `Machine: ${m.nproc} cores (${m.cpuModel}), ${m.memoryGb} GB RAM, Node ${m.node}, Linux ${m.kernel}. ` +
      `The load generator (${s.loadgen}, ${s.threads} thread, ${s.connections} connections) shares the ${m.nproc} cores with the server` +
      ` (and with PostgreSQL in its rows).`,
    `Command: \`${result.command}\`. ${s.warmupS} s warm-up then ${s.durationS} s measured per scenario; ${s.customers.toLocaleString('en')} customers seeded per database.`,
    `Server: ${s.server}.`,
    '',
    `Baseline (bare node:http, same ${result.baseline.bodyBytes}-byte customer JSON, driven like retrieve): ` +
      `${result.baseline.rps.toLocaleString('en')} req/s (median of ${result.baseline.runs.map((r) => `${r.rps.toLocaleString('en')}${(r.cpu?.others ?? 0) > DISTURBED ? ' ⚠' : ''}`).join(', ')}), ` +
      `${result.baseline.perCoreRps.toLocaleString('en')} req/s per server core.`,
    '',
    '"× paired" is req/s over the baseline measured just before that scenario (the targets are judged on it); "× median" over the median of the run\'s baseline runs. "per core" is req/s per core the server' +
      ' and its database used, over the same for the baseline: how much CPU a request costs, steadier when other processes take CPU.' +
      ` ⚠: other processes on the machine took more than ${DISTURBED} cores during that measurement.` +
      " irq+steal is interrupt time (disk completions, loopback TCP) and time the hypervisor took: no process's, caused by the run itself as much as by others.",
    '',
    '| db | scenario | req/s | paired baseline req/s | × paired | × median | per core × baseline | p50 ms | p99 ms | max ms | errors | peak RSS MB | CPU cores: server / wrk / db / irq+steal / other processes |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  );
  for (const db of result.databases) {
    for (const r of db.scenarios) {
      lines.push(
        `| ${db.dialect} | ${r.name} | ${r.rps.toLocaleString('en')} | ${(r.pairedBaselineRps ?? 0).toLocaleString('en')} | ${(r.pairedRatio ?? 0).toFixed(2)} | ${r.ratio.toFixed(2)} | ${r.perCoreRatio.toFixed(2)} | ${r.latencyMs.p50} | ${r.latencyMs.p99} | ${r.latencyMs.max} | ${r.errors.total} | ${Math.round(r.peakRssMb)} | ${cores(r)} |`,
      );
    }
  }
  lines.push('', '| target | SQLite | PostgreSQL |', '|---|---|---|');
  const names = [...new Set(result.targets.map((t) => t.target))];
  for (const name of names) {
    const cell = (dialect: 'sqlite' | 'postgres') => {
      const t = result.targets.find((x) => x.target === name && x.dialect === dialect);
      if (!t) return '–';
      return `${t.value} (${t.goal}) ${t.met ? '**met**' : '**missed**'}${t.note ? ` — ${t.note}` : ''}`;
    };
    lines.push(`| ${name} | ${cell('sqlite')} | ${cell('postgres')} |`);
  }
  lines.push(
    '',
    ...result.databases.map(
      (db) =>
        (db.serverRestarts.length > 0
          ? `The ${db.dialect} server exited and was restarted during: ${db.serverRestarts.map((r) => `${r.during} (${r.exit})`).join(', ')}. `
          : '') +
        `Seeding ${db.dialect}: ${db.seed.count.toLocaleString('en')} customers in ${db.seed.seconds} s (${db.seed.rowsPerSecond.toLocaleString('en')} rows/s). ` +
        `Settings: ${Object.entries(db.settings)
          .map(([k, v]) => `${k}=${v}`)
          .join(', ')}.`,
    ),
  );
  return `${lines.join('\n')}\n`;
}
