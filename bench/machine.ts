import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

/**
 * What the machine is and who uses its CPU while a scenario runs. The load generator, the
 * server, the database and anything else on the box share the same cores, so every scenario
 * records how the busy time split between them: a figure taken while something else was
 * eating a core says so in its own row.
 */

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  memoryGb: number;
  node: string;
  kernel: string;
}

export function machineInfo(): MachineInfo {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
  return {
    nproc: cpus().length,
    cpuModel: model,
    memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
  };
}

const TICKS_PER_SECOND = 100;

/** Busy and total jiffies of the whole machine (all cores). */
function systemTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal guest guest_nice; guest time is inside user.
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: total - idle, total };
}

/** User plus system jiffies of one process; null once it is gone. */
export function processTicks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return null;
  }
}

/** Resident set size now and its peak since the process started, in MiB. */
export function memory(pid: number): { rssMb: number; hwmMb: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
    return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
  } catch {
    return null;
  }
}

/** Cores used on average over a window, by role; `others` is everything not listed. */
export interface CpuShare {
  machineBusy: number;
  server: number;
  loadgen: number;
  database: number;
  harness: number;
  others: number;
}

export interface Roles {
  server?: number;
  loadgen?: number;
  /** Database backends serving the server (PostgreSQL); empty for SQLite. */
  database?: number[];
}

interface Snapshot {
  at: number;
  sys: { busy: number; total: number };
  server: number;
  loadgen: number;
  database: number;
  harness: number;
}

function snapshot(roles: Roles): Snapshot | null {
  const server = roles.server === undefined ? 0 : processTicks(roles.server);
  const loadgen = roles.loadgen === undefined ? 0 : processTicks(roles.loadgen);
  if (server === null || loadgen === null) return null;
  const database = (roles.database ?? []).reduce((sum, pid) => sum + (processTicks(pid) ?? 0), 0);
  const usage = process.cpuUsage();
  return {
    at: performance.now(),
    sys: systemTicks(),
    server,
    loadgen,
    database,
    harness: ((usage.user + usage.system) / 1e6) * TICKS_PER_SECOND,
  };
}

function share(a: Snapshot, b: Snapshot): CpuShare {
  const cores = cpus().length;
  const window = b.sys.total - a.sys.total || 1;
  const toCores = (ticks: number) => Math.round((ticks / window) * cores * 100) / 100;
  const server = b.server - a.server;
  const loadgen = b.loadgen - a.loadgen;
  const database = b.database - a.database;
  const harness = b.harness - a.harness;
  const busy = b.sys.busy - a.sys.busy;
  return {
    machineBusy: toCores(busy),
    server: toCores(server),
    loadgen: toCores(loadgen),
    database: toCores(database),
    harness: toCores(harness),
    others: toCores(Math.max(0, busy - server - loadgen - database - harness)),
  };
}

/**
 * Samples CPU by role and the server's memory every `intervalMs` until stopped. The window ends
 * at the last sample taken while the load generator was still alive, so its time is counted.
 */
export class Sampler {
  private first: Snapshot | null;
  private last: Snapshot | null;
  private peakRssMb = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly roles: Roles,
    intervalMs = 250,
  ) {
    this.first = snapshot(roles);
    this.last = this.first;
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  private sample(): void {
    const s = snapshot(this.roles);
    if (s) this.last = s;
    const mem = this.roles.server === undefined ? null : memory(this.roles.server);
    if (mem) this.peakRssMb = Math.max(this.peakRssMb, mem.rssMb);
  }

  stop(): { cpu: CpuShare | null; peakRssMb: number; hwmMb: number } {
    clearInterval(this.timer);
    this.sample();
    const mem = this.roles.server === undefined ? null : memory(this.roles.server);
    return {
      cpu: this.first && this.last && this.last !== this.first ? share(this.first, this.last) : null,
      peakRssMb: Math.round(this.peakRssMb * 10) / 10,
      hwmMb: Math.round((mem?.hwmMb ?? 0) * 10) / 10,
    };
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits, up to `maxMs`, until processes other than ours use less than `threshold` cores over a
 * second: other work on a shared machine skews a figure more than anything in the code does.
 * Returns how long it waited and what the others used in the last second looked at.
 */
export async function waitForQuiet(
  roles: Roles,
  maxMs: number,
  threshold = 0.15,
): Promise<{ waitedMs: number; othersCores: number }> {
  const start = performance.now();
  for (;;) {
    const a = snapshot(roles);
    await sleep(1000);
    const b = snapshot(roles);
    const others = a && b ? share(a, b).others : 0;
    const waited = performance.now() - start;
    if (others < threshold || waited >= maxMs) return { waitedMs: Math.round(waited), othersCores: others };
  }
}
