/** Forks load-driver processes (bench/driver.ts) and talks to them over IPC. */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { epochNow } from './stats.js';
import { processCpuMs } from './server.js';

const DRIVER = fileURLToPath(new URL('../driver.ts', import.meta.url));

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
    const child = fork(DRIVER, [], {
      execArgv: ['--import', 'tsx', '--max-old-space-size=2048'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    await new Promise<void>((resolve, reject) => {
      const onMessage = (m: { ready?: boolean }) => {
        if (m.ready) {
          child.off('message', onMessage);
          resolve();
        }
      };
      child.on('message', onMessage);
      child.once('exit', (code) => reject(new Error(`driver exited with ${code} before it was ready`)));
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

  call<T = any>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
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
