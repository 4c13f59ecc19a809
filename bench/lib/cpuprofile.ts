/** Summarises a V8 .cpuprofile (from `node --cpu-prof`): self and total time per function. */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface FunctionTime {
  name: string;
  location: string;
  selfMs: number;
  selfPct: number;
  totalMs: number;
}

export interface ProfileSummary {
  file: string;
  durationMs: number;
  /** Time the VM sampled as idle (waiting on I/O). */
  idleMs: number;
  gcMs: number;
  top: FunctionTime[];
  /** Self time grouped by package / area (node_modules package, node: internals, project file). */
  byArea: Array<{ area: string; selfMs: number; selfPct: number }>;
}

function shortLocation(url: string, line: number): string {
  if (!url) return '(native)';
  const nm = url.lastIndexOf('node_modules/');
  let path = nm >= 0 ? url.slice(nm + 'node_modules/'.length) : url.replace(/^file:\/\/.*?\/(packages|bench|test)\//, '$1/');
  path = path.replace(/^file:\/\//, '');
  return `${path}:${line + 1}`;
}

function areaOf(node: ProfileNode): string {
  const { url, functionName } = node.callFrame;
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(program)') return 'V8/native (program)';
  if (!url) return 'native (no JS frame)';
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const m = url.match(/\/(packages\/[^/]+)\//);
  if (m) return m[1]!;
  return 'other';
}

/**
 * Summarises a profile, optionally only the samples inside the given windows of the monotonic
 * clock in µs (process.hrtime in any process on the machine uses the same clock as V8's profiler).
 */
export function summariseProfile(file: string, topN = 25, windowsUs: Array<[number, number]> | null = null): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  // timeDeltas[i] is the time before sample i; attribute each delta to the sample it precedes.
  let t = profile.startTime;
  let windowUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    t += delta;
    if (windowsUs && !windowsUs.some(([a, b]) => t >= a && t <= b)) continue;
    windowUs += delta;
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  }
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const durationUs = windowsUs ? windowUs : profile.endTime - profile.startTime;
  let idleUs = 0;
  let gcUs = 0;
  const fnSelf = new Map<string, { name: string; location: string; self: number; total: number }>();
  const areaSelf = new Map<string, number>();
  // total time: a function counted once per sample even when recursive
  const totalByKey = new Map<string, number>();
  const keyOf = (n: ProfileNode) =>
    `${n.callFrame.functionName || '(anonymous)'}@${shortLocation(n.callFrame.url, n.callFrame.lineNumber)}`;
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    const name = node.callFrame.functionName || '(anonymous)';
    if (name === '(idle)') {
      idleUs += us;
      continue;
    }
    if (name === '(garbage collector)') gcUs += us;
    const key = keyOf(node);
    const entry = fnSelf.get(key) ?? { name, location: shortLocation(node.callFrame.url, node.callFrame.lineNumber), self: 0, total: 0 };
    entry.self += us;
    fnSelf.set(key, entry);
    const area = areaOf(node);
    areaSelf.set(area, (areaSelf.get(area) ?? 0) + us);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = keyOf(byId.get(cur)!);
      if (seen.has(k)) continue;
      seen.add(k);
      totalByKey.set(k, (totalByKey.get(k) ?? 0) + us);
    }
  }
  const busyUs = durationUs - idleUs;
  const top = [...fnSelf.entries()]
    .sort((a, b) => b[1].self - a[1].self)
    .slice(0, topN)
    .map(([key, e]) => ({
      name: e.name,
      location: e.location,
      selfMs: Math.round(e.self / 100) / 10,
      selfPct: Math.round((1000 * e.self) / Math.max(1, busyUs)) / 10,
      totalMs: Math.round((totalByKey.get(key) ?? 0) / 100) / 10,
    }));
  const byArea = [...areaSelf.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([area, us]) => ({ area, selfMs: Math.round(us / 100) / 10, selfPct: Math.round((1000 * us) / Math.max(1, busyUs)) / 10 }));
  return { file, durationMs: Math.round(durationUs / 1000), idleMs: Math.round(idleUs / 1000), gcMs: Math.round(gcUs / 1000), top, byArea };
}

export function formatProfile(s: ProfileSummary, topN = 20): string {
  const lines = [
    `profile ${s.file}`,
    `  duration ${s.durationMs} ms, idle ${s.idleMs} ms, busy ${s.durationMs - s.idleMs} ms, GC ${s.gcMs} ms`,
    '  self time by area (% of busy):',
    ...s.byArea.slice(0, 12).map((a) => `    ${a.selfPct.toFixed(1).padStart(5)}%  ${a.selfMs.toFixed(0).padStart(7)} ms  ${a.area}`),
    '  top functions by self time (% of busy):',
    ...s.top
      .slice(0, topN)
      .map(
        (f) =>
          `    ${f.selfPct.toFixed(1).padStart(5)}%  ${f.selfMs.toFixed(0).padStart(7)} ms  (total ${f.totalMs.toFixed(0)} ms)  ${f.name}  ${f.location}`,
      ),
  ];
  return lines.join('\n');
}

// `node --import tsx bench/lib/cpuprofile.ts FILE.cpuprofile [N]`
if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: cpuprofile.ts FILE.cpuprofile [topN]');
  const n = Number(process.argv[3] ?? 25);
  console.log(formatProfile(summariseProfile(file, n), n));
}
