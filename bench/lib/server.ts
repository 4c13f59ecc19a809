/** Starts real `sigil serve` processes and reads their CPU time and memory from /proc. */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { launchSigil, SIGIL_CLI as BUILT_SIGIL_CLI } from '../../test/support/processes.js';
import { epochNow, sleep } from './stats.js';

/** The server under test; SIGIL_BENCH_CLI points at another build (e.g. a copy of the code before a change, for A/B runs). */
export const SIGIL_CLI = process.env.SIGIL_BENCH_CLI ?? BUILT_SIGIL_CLI;

let clockTicks: number | null = null;
function ticksPerSecond(): number {
  if (clockTicks === null) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** user+system CPU time of a process (and its reaped children), in ms, from /proc/PID/stat. */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime is field 14, stime 15
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / ticksPerSecond();
}

/** Resident set size in KiB, from /proc/PID/status. */
export function processRssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = status.match(/^VmRSS:\s+(\d+)\s+kB/m);
  return m ? Number(m[1]) : Number.NaN;
}

/** Waits until the RSS of a process stops moving (V8 idle GC has run), up to maxMs; returns the last value. */
export async function settledRssKiB(pid: number, { quietMs = 1500, maxMs = 15_000, tolerance = 0.005 } = {}): Promise<number> {
  const deadline = Date.now() + maxMs;
  let last = processRssKiB(pid);
  let stableSince = Date.now();
  while (Date.now() < deadline) {
    await sleep(250);
    const now = processRssKiB(pid);
    if (Math.abs(now - last) / last > tolerance) stableSince = Date.now();
    last = now;
    if (Date.now() - stableSince >= quietMs) break;
  }
  return last;
}

export interface ServerOptions {
  dataDir: string;
  databaseUrl?: string | undefined;
  env?: Record<string, string>;
  /** Extra node flags, e.g. --cpu-prof. */
  nodeArgs?: string[];
  timeoutMs?: number;
  /** Open the inspector on a free loopback port, so the bench can force a GC before reading memory. */
  inspect?: boolean;
}

export interface ServerHandle {
  url: string;
  pid: number;
  /** The first API key, when this start initialised the store. */
  apiKey: string | null;
  /** spawn → the URL in the "is running at" banner answering GET /healthz with 200. */
  startupMs: number;
  /** spawn → the banner. */
  bannerMs: number;
  child: ChildProcess;
  output(): string;
  cpuMs(): number;
  rssKiB(): number;
  /** SIGTERM and wait (a --cpu-prof profile is written on this exit). */
  stop(): Promise<void>;
  /** With `inspect`: a full GC in the server through the inspector, then its V8 heap usage (bytes). */
  collectGarbage(): Promise<{ usedHeapBytes: number }>;
}

export async function startServer(options: ServerOptions): Promise<ServerHandle> {
  const timeoutMs = options.timeoutMs ?? 180_000;
  const started = epochNow();
  const { child, url, apiKey, output, readyAt } = await launchSigil({
    cli: SIGIL_CLI,
    nodeArgs: [...(options.inspect ? ['--inspect=127.0.0.1:0'] : []), ...(options.nodeArgs ?? [])],
    args: ['--port', '0', '--data-dir', options.dataDir],
    env: { SIGIL_LOG_LEVEL: 'warn', DATABASE_URL: options.databaseUrl ?? '', ...options.env },
    timeoutMs,
  });
  const pid = child.pid!;
  // Ready means answering: GET /healthz on the printed URL, asked again at once until it says 200.
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await fetch(`${url}/healthz`).then(
      (r) => r.arrayBuffer().then(() => r.status),
      () => 0,
    );
    if (status === 200) break;
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`sigil serve exited after printing ${url}`);
    if (Date.now() > deadline) throw new Error(`sigil serve printed ${url} but /healthz did not answer 200 in time`);
  }
  const ready = epochNow();
  let stopped: Promise<void> | null = null;
  return {
    url,
    pid,
    apiKey,
    startupMs: ready - started,
    bannerMs: readyAt - started,
    child,
    output,
    cpuMs: () => processCpuMs(pid),
    rssKiB: () => processRssKiB(pid),
    collectGarbage: async () => {
      const ws = output().match(/Debugger listening on (ws:\/\/\S+)/)?.[1];
      if (!ws) throw new Error('the server was not started with inspect');
      return inspectorGc(ws);
    },
    stop: () =>
      (stopped ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        await exited;
        clearTimeout(timer);
      })()),
  };
}

/** Runs HeapProfiler.collectGarbage (twice: weak callbacks) and returns Runtime.getHeapUsage. */
async function inspectorGc(url: string): Promise<{ usedHeapBytes: number }> {
  const socket = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  let id = 0;
  const call = (method: string) =>
    new Promise<any>((resolve, reject) => {
      const my = ++id;
      const onMessage = (data: Buffer) => {
        const msg = JSON.parse(data.toString()) as { id?: number; result?: unknown; error?: { message: string } };
        if (msg.id !== my) return;
        socket.off('message', onMessage);
        if (msg.error) reject(new Error(msg.error.message));
        else resolve(msg.result);
      };
      socket.on('message', onMessage);
      socket.send(JSON.stringify({ id: my, method }));
    });
  try {
    await call('HeapProfiler.collectGarbage');
    await call('HeapProfiler.collectGarbage');
    const usage = (await call('Runtime.getHeapUsage')) as { usedSize: number };
    return { usedHeapBytes: usage.usedSize };
  } finally {
    socket.close();
  }
}

/** Fetch JSON with a timeout; never throws on HTTP errors. */
export async function http<T = any>(
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: T }> {
  const res = await fetch(url, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON
  }
  return { status: res.status, body: parsed as T };
}
