/**
 * Forks load-driver processes (bench/driver.ts) and talks to them over IPC. The driver is
 * transpiled once to plain JavaScript (TypeScript's transpileModule: it has no relative imports)
 * and run without a loader, so a driver is a bare Node process: no tsx loader thread or esbuild
 * service per driver.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { epochNow } from './stats.js';
import { processCpuMs } from './server.js';

const SOURCE = fileURLToPath(new URL('../driver.ts', import.meta.url));
const CACHE_DIR = fileURLToPath(new URL('../../node_modules/.cache/sigil-bench/', import.meta.url));
const debug = process.env.SIGIL_BENCH_DEBUG ? (line: string) => process.stderr.write(`[bench] ${line}\n`) : () => {};

let compiled: string | null = null;
function driverScript(): string {
  if (compiled) return compiled;
  const out = ts.transpileModule(readFileSync(SOURCE, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
    fileName: SOURCE,
  });
  mkdirSync(CACHE_DIR, { recursive: true });
  const staging = `${CACHE_DIR}driver-${process.pid}.mjs`;
  writeFileSync(staging, out.outputText);
  renameSync(staging, (compiled = `${CACHE_DIR}driver.mjs`)); // atomic: a concurrent run may be forking it
  return compiled;
}

export class Driver {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  private constructor(readonly child: ChildProcess) {
    child.on('message', (msg: { id?: number; ok?: boolean; result?: unknown; error?: string }) => {
      if (msg.id === undefined) return;
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(new Error(`driver ${child.pid}: ${msg.error}`));
    });
    child.on('exit', (code) => {
      for (const p of this.pending.values()) p.reject(new Error(`driver ${child.pid} exited with ${code}`));
      this.pending.clear();
    });
  }

  static async start(): Promise<Driver> {
    const child = fork(driverScript(), [], {
      execArgv: ['--max-old-space-size=2048'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`driver ${child.pid} did not start in 60 s`));
      }, 60_000);
      const onMessage = (m: { ready?: boolean }) => {
        if (m.ready) {
          clearTimeout(timer);
          child.off('message', onMessage);
          debug(`driver ${child.pid} ready`);
          resolve();
        }
      };
      child.on('message', onMessage);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`driver exited with ${code} before it was ready`));
      });
    });
    return new Driver(child);
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Total CPU time of the driver process so far (ms). */
  cpuMs(): number {
    return processCpuMs(this.pid);
  }

  /** Runs a command in the driver; fails (instead of hanging) after timeoutMs. */
  call<T = any>(cmd: string, args: Record<string, unknown> = {}, timeoutMs = 15 * 60_000): Promise<T> {
    const id = this.nextId++;
    debug(`→ ${this.pid} ${cmd} #${id}`);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`driver ${this.pid}: no answer to ${cmd} in ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          debug(`← ${this.pid} ${cmd} #${id}`);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.child.send({ id, cmd, ...args });
    });
  }

  /** Estimates (driver clock − coordinator clock) in ms from the fastest of n round trips. */
  async clockOffset(n = 20): Promise<{ offsetMs: number; rttMs: number }> {
    let best = { offsetMs: 0, rttMs: Infinity };
    for (let i = 0; i < n; i++) {
      const t0 = epochNow();
      const { t } = await this.call<{ t: number }>('clock');
      const t1 = epochNow();
      if (t1 - t0 < best.rttMs) best = { offsetMs: t - (t0 + t1) / 2, rttMs: t1 - t0 };
    }
    return best;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.call('exit').catch(() => {});
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

export async function startDrivers(n: number): Promise<Driver[]> {
  return Promise.all(Array.from({ length: n }, () => Driver.start()));
}

export async function stopDrivers(drivers: Driver[]): Promise<void> {
  await Promise.all(drivers.map((d) => d.stop()));
}

/** Splits items into n nearly equal contiguous slices. */
export function split<T>(items: readonly T[], n: number): T[][] {
  const out: T[][] = Array.from({ length: n }, () => []);
  items.forEach((item, i) => out[i % n]!.push(item));
  return out;
}
