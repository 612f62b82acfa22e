import { backendPids } from './databases.js';
import { type Roles, waitForQuiet } from './machine.js';
import type { Dialect } from './options.js';
import { runWrk, type Template, type WrkResult } from './wrk.js';

/**
 * One measurement is wrk driving a process for a while, with the CPU split by role. Other work on
 * a shared machine skews a figure more than anything in the code does, so a measurement can wait
 * for the machine to quieten first, and one that other processes disturbed is taken again.
 */

/** Other processes took more than this many cores during a measurement: it is marked, and retried. */
export const DISTURBED = 0.3;

export type ServerRoles = Omit<Roles, 'loadgen'>;

export interface MeasureSettings {
  threads: number;
  connections: number;
  timeoutS: number;
  warmupS: number;
  durationS: number;
  workDir: string;
  /** Before a measurement, wait up to this long for other processes to quieten (0: don't). */
  quietWaitMs: number;
  /** A measurement during which others used more cores than this is taken again once. */
  retryAboveOthers: number;
  /** Past this much wall time, no more waiting for quiet and no second measurements. */
  budgetMs: number;
  log: (message: string) => void;
}

export interface Measured {
  result: WrkResult;
  /** Every measurement taken: a second one only when other processes disturbed the first. */
  attempts: { rps: number; othersCores: number }[];
}

export interface Measurer {
  /** One measurement of `durationS` seconds (no warm-up). */
  measure(
    url: string,
    templates: Template[],
    tag: string,
    roles: ServerRoles,
    durationS: number,
    idsFile: string,
  ): Promise<WrkResult>;
  /**
   * A warm-up, then the measurement; measured again once (after waiting for quiet) when other
   * processes took more than `retryAboveOthers` cores, keeping the less disturbed of the two.
   * `rolesOf` is asked before each, since a database's backends come and go.
   */
  warmAndMeasure(
    url: string,
    templates: Template[],
    tag: string,
    rolesOf: () => Promise<ServerRoles>,
    idsFile: string,
  ): Promise<Measured>;
  /** Waits for quiet when the settings ask for it and the budget allows. */
  quietly(roles: ServerRoles): Promise<{ waitedMs: number; othersCores: number }>;
}

export function measurer(settings: MeasureSettings): Measurer {
  const startMs = Date.now();
  const inBudget = () => Date.now() - startMs < settings.budgetMs;
  const others = (r: WrkResult) => r.cpu?.others ?? 0;

  const measure: Measurer['measure'] = (url, templates, tag, roles, durationS, idsFile) =>
    runWrk({
      url,
      templates,
      idsFile,
      threads: settings.threads,
      connections: settings.connections,
      durationS,
      timeoutS: settings.timeoutS,
      tag,
      workDir: settings.workDir,
      roles,
    });

  const quietly: Measurer['quietly'] = async (roles) =>
    settings.quietWaitMs > 0 && inBudget()
      ? waitForQuiet(roles, settings.quietWaitMs)
      : { waitedMs: 0, othersCores: 0 };

  const warmAndMeasure: Measurer['warmAndMeasure'] = async (url, templates, tag, rolesOf, idsFile) => {
    await measure(url, templates, `${tag}-w`, await rolesOf(), settings.warmupS, idsFile);
    const first = await measure(url, templates, tag, await rolesOf(), settings.durationS, idsFile);
    const attempts = [{ rps: first.rps, othersCores: others(first) }];
    if (others(first) <= settings.retryAboveOthers || !inBudget()) return { result: first, attempts };
    settings.log(`${tag}: others used ${others(first)} cores; measuring again`);
    await quietly(await rolesOf());
    const second = await measure(url, templates, `${tag}-r`, await rolesOf(), settings.durationS, idsFile);
    attempts.push({ rps: second.rps, othersCores: others(second) });
    return { result: others(second) < others(first) ? second : first, attempts };
  };

  return { measure, warmAndMeasure, quietly };
}

/** The processes whose CPU is the server's: itself, and on PostgreSQL the backends serving it. */
export function serverRoles(dialect: Dialect, pid: number, pgUrl: string): () => Promise<ServerRoles> {
  return async () =>
    dialect === 'postgres' ? { server: pid, database: await backendPids(pgUrl) } : { server: pid };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length % 2) return sorted[mid] as number;
  return Math.round(((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2);
}

/** Requests per second per core used by the server (and its database). */
export function perCore(r: WrkResult): number {
  const used = (r.cpu?.server ?? 0) + (r.cpu?.database ?? 0);
  return used > 0 ? Math.round(r.rps / used) : 0;
}

/** `a / b` to three decimals. */
export const ratio = (a: number, b: number): number => Math.round((a / b) * 1000) / 1000;
