import { readFileSync } from 'node:fs';

/**
 * Aggregates a V8 .cpuprofile (from `node --cpu-prof`): self time by function, and self and
 * total (inclusive) time by package or app module, so "where does the time go" has a short answer.
 * Run alone: `tsx bench/cpuprofile.ts FILE.cpuprofile [--top N]`.
 */

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface Row {
  name: string;
  ms: number;
  /** Percent of the non-idle time. */
  pct: number;
}

export interface Summary {
  totalMs: number;
  idleMs: number;
  busyMs: number;
  selfByFunction: Row[];
  selfByPackage: Row[];
  totalByPackage: Row[];
}

/** `node_modules/@scope/name/…` → `@scope/name`; dist/src files → `app:<path>`; the rest by kind. */
export function packageOf(frame: CallFrame): string {
  const url = frame.url;
  if (url === '') {
    if (frame.functionName.startsWith('(')) return frame.functionName;
    return '(native or generated code)';
  }
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = url.slice(nm + '/node_modules/'.length).split('/');
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? url);
  }
  if (url.startsWith('node:'))
    return `node:${url.slice(5).split('/')[0] === 'internal' ? 'internal' : url.slice(5)}`;
  const app = /\/(dist|src)\/(.*)$/.exec(url);
  if (app) return `app:${app[2]}`;
  return url;
}

function functionOf(frame: CallFrame): string {
  const name = frame.functionName || '(anonymous)';
  if (frame.url === '') return name;
  const short = frame.url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*\/(dist|src)\//, '$1/');
  return `${name} ${short}:${frame.lineNumber + 1}`;
}

function rows(map: Map<string, number>, busyUs: number, top: number): Row[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, us]) => ({
      name,
      ms: Math.round(us / 100) / 10,
      pct: Math.round((us / busyUs) * 1000) / 10,
    }));
}

export function summarise(profile: CpuProfile, top = 25): Summary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfFn = new Map<string, number>();
  const selfPkg = new Map<string, number>();
  const totalPkg = new Map<string, number>();
  let total = 0;
  let idle = 0;
  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0;
    const node = byId.get(profile.samples[i] as number);
    if (!node) continue;
    total += dt;
    if (node.callFrame.functionName === '(idle)') {
      idle += dt;
      continue;
    }
    add(selfFn, functionOf(node.callFrame), dt);
    add(selfPkg, packageOf(node.callFrame), dt);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)?.callFrame;
      if (!frame || frame.functionName === '(root)') continue;
      const pkg = packageOf(frame);
      if (!seen.has(pkg)) {
        seen.add(pkg);
        add(totalPkg, pkg, dt);
      }
    }
  }
  const busy = total - idle || 1;
  return {
    totalMs: Math.round(total / 1000),
    idleMs: Math.round(idle / 1000),
    busyMs: Math.round(busy / 1000),
    selfByFunction: rows(selfFn, busy, top),
    selfByPackage: rows(selfPkg, busy, top),
    totalByPackage: rows(totalPkg, busy, top),
  };
}

export function summariseFile(path: string, top = 25): Summary {
  return summarise(JSON.parse(readFileSync(path, 'utf8')) as CpuProfile, top);
}

export function toMarkdown(title: string, s: Summary): string {
  const table = (head: string, list: Row[]) =>
    [
      `| ${head} | ms | % of busy |`,
      '|---|---:|---:|',
      ...list.map((r) => `| ${r.name.replaceAll('|', '\\|')} | ${r.ms} | ${r.pct} |`),
    ].join('\n');
  return [
    `### ${title}`,
    '',
    `${s.totalMs} ms profiled, ${s.idleMs} ms idle, ${s.busyMs} ms busy (percentages are of busy time).`,
    '',
    table('self time by function', s.selfByFunction),
    '',
    table('self time by package / app module', s.selfByPackage),
    '',
    table('total (inclusive) time by package / app module', s.totalByPackage),
    '',
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, flag, n] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: tsx bench/cpuprofile.ts FILE.cpuprofile [--top N]\n');
    process.exit(2);
  }
  process.stdout.write(toMarkdown(file, summariseFile(file, flag === '--top' ? Number(n) : 25)));
}
