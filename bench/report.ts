import type { MachineInfo } from './machine.js';
import { DISTURBED } from './measure.js';
import type { Dialect } from './options.js';
import { searchLines } from './search-report.js';
import type { SearchFigures } from './search-run.js';
import type { WebhookFigures } from './webhooks.js';
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
  /** The webhook scenarios only: what the receiver saw (bench/webhooks.ts). */
  webhook?: WebhookFigures;
}

export interface DatabaseResult {
  dialect: Dialect;
  seed: { count: number; seconds: number; rowsPerSecond: number };
  /** Version and durability settings (synchronous, fsync, …). */
  settings: Record<string, string>;
  scenarios: ScenarioResult[];
  /** The server's VmHWM when it stopped: peak RSS over all its scenarios. */
  serverPeakRssMb: number;
  /** Times the server process died under the run (killed from outside, or crashed) and was restarted. */
  serverRestarts: { during: string; exit: string }[];
  /** The search part (bench/search-run.ts), when the run had it. */
  search?: SearchFigures;
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

/** A target of `targets.ts`, judged on one database's figures. */
export interface Target {
  target: string;
  dialect: Dialect;
  value: number;
  goal: string;
  met: boolean;
  note?: string;
}

/** Two decimals, rounded as the targets round them (toFixed would print 0.615 as 0.61). */
const two = (n: number) => (Math.round(n * 100) / 100).toFixed(2);

const cores = (r: WrkResult) => {
  if (!r.cpu) return '–';
  const c = r.cpu;
  const kernel = Math.round((c.irq + c.steal) * 100) / 100;
  return `${c.server} / ${c.loadgen} / ${c.database} / ${kernel} / ${c.others}${c.others > DISTURBED ? ' ⚠' : ''}`;
};

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
        `| ${db.dialect} | ${r.name} | ${r.rps.toLocaleString('en')} | ${r.pairedBaselineRps.toLocaleString('en')} | ${two(r.pairedRatio)} | ${two(r.ratio)} | ${two(r.perCoreRatio)} | ${r.latencyMs.p50} | ${r.latencyMs.p99} | ${r.latencyMs.max} | ${r.errors.total} | ${Math.round(r.peakRssMb)} | ${cores(r)} |`,
      );
    }
  }
  lines.push(...webhookLines(result));
  lines.push(...searchLines(result));
  lines.push(
    '',
    "The service's performance targets (bench/targets.ts); throughput is judged on × paired.",
    '',
    '| target | SQLite | PostgreSQL |',
    '|---|---|---|',
  );
  const names = [...new Set(result.targets.map((t) => t.target))];
  for (const name of names) {
    const cell = (dialect: Dialect) => {
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

/** The webhook scenarios beside the same ones without an endpoint, and what the receiver saw. */
function webhookLines(result: BenchResult): string[] {
  const rows: string[] = [];
  for (const db of result.databases) {
    for (const r of db.scenarios) {
      if (!r.webhook) continue;
      const plain = db.scenarios.find((x) => x.name === r.name.replace(/_webhook$/, ''));
      const w = r.webhook;
      const vsPlain = plain ? two(r.pairedRatio / plain.pairedRatio) : '–';
      rows.push(
        `| ${db.dialect} | ${r.name} | ${two(r.pairedRatio)} | ${plain ? two(plain.pairedRatio) : '–'} | ${vsPlain} | ${w.delivered.toLocaleString('en')} | ${w.perSecond.toLocaleString('en')} | ${w.lagMs.p50 ?? '–'} | ${w.lagMs.p99 ?? '–'} |`,
      );
    }
  }
  if (rows.length === 0) return [];
  return [
    '',
    'With one enabled webhook endpoint (a receiver on loopback answering 200 at once). Lag is the arrival at the receiver minus the' +
      " event's `created`, whole seconds: each lag reads up to 1 s high. 0 delivered means the server made no deliveries.",
    '',
    '| db | scenario | × paired | without endpoint × paired | with / without | delivered | delivered/s | lag p50 ms | lag p99 ms |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
  ];
}
