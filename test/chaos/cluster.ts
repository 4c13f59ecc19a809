import type { ChildProcess } from 'node:child_process';
import { startSigil, type SigilProcess } from '../support/processes.js';
import type { TestStore } from '../support/stores.js';

/**
 * `sigil serve` instances on one store, each on its own loopback port, that the chaos run kills
 * (SIGKILL) and starts again. Any other exit is recorded: no instance may exit unless killed.
 */
export class ChaosInstances {
  private readonly processes: Array<SigilProcess | null>;
  private readonly killedOnPurpose = new WeakSet<ChildProcess>();
  private stopping = false;
  /** Exits nobody asked for, with the end of the instance's output. */
  readonly unexpectedExits: string[] = [];
  /** Starts that failed (the process exited before serving) and were tried again. */
  failedStarts = 0;
  apiKey = '';

  constructor(
    private readonly store: TestStore,
    private readonly env: Record<string, string>,
    readonly ports: number[],
  ) {
    this.processes = ports.map(() => null);
  }

  url(i: number): string {
    return `http://127.0.0.1:${this.ports[i]}`;
  }

  isUp(i: number): boolean {
    return this.processes[i] !== null;
  }

  /** The instances a load balancer would send to: the running ones (all when none runs). */
  liveUrls(): string[] {
    const up = this.ports.map((_, i) => i).filter((i) => this.isUp(i));
    return (up.length > 0 ? up : this.ports.map((_, i) => i)).map((i) => this.url(i));
  }

  /** Starts instance i, trying again (up to deadlineMs) when it cannot start, e.g. while PostgreSQL restarts. */
  async start(i: number, deadlineMs = 120_000): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    for (;;) {
      try {
        const p = await startSigil(this.store, this.env, { port: this.ports[i]! });
        if (p.apiKey) this.apiKey = p.apiKey;
        p.child.once('exit', (code, signal) => {
          if (this.killedOnPurpose.has(p.child) || this.stopping) return;
          this.unexpectedExits.push(`instance ${i} exited (${code ?? signal}) without being killed:\n${p.output().slice(-3000)}`);
          if (this.processes[i] === p) this.processes[i] = null;
        });
        this.processes[i] = p;
        return;
      } catch (err) {
        this.failedStarts++;
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  async kill(i: number): Promise<void> {
    const p = this.processes[i];
    if (!p) return;
    this.processes[i] = null;
    this.killedOnPurpose.add(p.child);
    await p.kill();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.processes.map((p) => p?.stop()));
  }
}
