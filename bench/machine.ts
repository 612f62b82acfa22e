import { readdirSync, readFileSync } from 'node:fs';
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

interface SystemTicks {
  busy: number;
  total: number;
  /** Interrupt and softirq time (disk completions, loopback networking): nobody's process time. */
  irq: number;
  /** Time the hypervisor gave this VM's CPUs to someone else. */
  steal: number;
}

/** Jiffies of the whole machine (all cores). */
function systemTicks(): SystemTicks {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal guest guest_nice; guest time is inside user.
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: total - idle, total, irq: (v[5] ?? 0) + (v[6] ?? 0), steal: v[7] ?? 0 };
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

/** Every process's user+system jiffies, by "pid comm". */
function allProcessTicks(): Map<string, number> {
  const out = new Map<string, number>();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(`${pid} ${comm}`, Number(fields[11]) + Number(fields[12]));
    } catch {}
  }
  return out;
}

/** The last process (or thread) id the kernel handed out: its growth counts processes started. */
function lastPid(): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').trim().split(' ')[4] ?? 0);
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

/**
 * Cores used on average over a window, by role. `others` is other processes' time (what the
 * run cannot control); `irq` (interrupts, softirqs: disk completions, loopback TCP) and `steal`
 * (the hypervisor) belong to no process and are counted apart, since the run itself causes them.
 */
export interface CpuShare {
  machineBusy: number;
  server: number;
  loadgen: number;
  database: number;
  harness: number;
  irq: number;
  steal: number;
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
  sys: SystemTicks;
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
  const irq = b.sys.irq - a.sys.irq;
  const steal = b.sys.steal - a.sys.steal;
  return {
    machineBusy: toCores(busy),
    server: toCores(server),
    loadgen: toCores(loadgen),
    database: toCores(database),
    harness: toCores(harness),
    irq: toCores(irq),
    steal: toCores(steal),
    others: toCores(Math.max(0, busy - server - loadgen - database - harness - irq - steal)),
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

  stop(): {
    cpu: CpuShare | null;
    othersTop: { process: string; cores: number }[];
    newPids: number;
    peakRssMb: number;
    hwmMb: number;
  } {
    clearInterval(this.timer);
    this.sample();
    const mem = this.roles.server === undefined ? null : memory(this.roles.server);
    const cpu = this.first && this.last && this.last !== this.first ? share(this.first, this.last) : null;
    return {
      cpu,
      othersTop: this.othersTop(cpu),
      newPids: lastPid() - this.lastPidAtStart,
      peakRssMb: Math.round(this.peakRssMb * 10) / 10,
      hwmMb: Math.round((mem?.hwmMb ?? 0) * 10) / 10,
    };
  }

  private readonly processesAtStart = allProcessTicks();
  private readonly lastPidAtStart = lastPid();

  /**
   * Which other processes took the CPU, when they took a noticeable share: the ones alive at
   * both ends of the window. Short-lived ones (other test runs' children) escape it; `newPids`
   * (process and thread ids handed out meanwhile) shows they were there.
   */
  private othersTop(cpu: CpuShare | null): { process: string; cores: number }[] {
    if (!cpu || cpu.others < 0.1 || !this.first || !this.last) return [];
    const ours = new Set(
      [this.roles.server, this.roles.loadgen, ...(this.roles.database ?? []), process.pid].map(String),
    );
    const seconds = (this.last.at - this.first.at) / 1000 || 1;
    return [...allProcessTicks()]
      .filter(([key]) => !ours.has(key.split(' ')[0] ?? ''))
      .map(([key, ticks]) => ({
        process: key,
        cores:
          Math.round(
            ((ticks - (this.processesAtStart.get(key) ?? ticks)) / TICKS_PER_SECOND / seconds) * 100,
          ) / 100,
      }))
      .filter((p) => p.cores >= 0.05)
      .sort((a, b) => b.cores - a.cores)
      .slice(0, 5);
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
