import { spawn, type ChildProcess } from 'node:child_process';
import type { Speaker, Terminal } from './terminal.js';

export interface WaitOptions {
  /** Only lines from this index on count (see Proc.mark()). */
  since?: number;
  timeoutMs?: number;
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  /** Rewrites a line for display; null hides it. Every line is still recorded. */
  display?: (line: string) => string | null;
}

const STOP_GRACE_MS = 5_000;

/** A child process whose output is shown line by line under its speaker's label, and recorded. */
export class Proc {
  readonly lines: string[] = [];
  private readonly displayed: string[] = [];
  readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined;
  private quiet = false;
  private readonly watchers = new Set<() => void>();

  constructor(
    readonly speaker: Speaker,
    readonly description: string,
    private readonly child: ChildProcess,
    private readonly out: Terminal,
    private readonly display: (line: string) => string | null,
  ) {
    this.readLines(child.stdout);
    this.readLines(child.stderr);
    this.exited = new Promise((resolve) => {
      const done = (code: number | null) => {
        if (this.exitCode !== undefined) return;
        this.exitCode = code;
        this.notify();
        resolve(code);
      };
      child.once('close', (code) => done(code));
      child.once('error', (err) => {
        this.record(`could not start: ${err.message}`);
        done(null);
      });
    });
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** The index of the next line, to wait only for what comes after an action. */
  mark(): number {
    return this.lines.length;
  }

  /** Resolves with the first matching line from `since` on; rejects on timeout or if the process ends first. */
  waitFor(pattern: RegExp, what: string, { since = 0, timeoutMs = 15_000 }: WaitOptions = {}): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      let next = since;
      const check = () => {
        for (; next < this.lines.length; next++) {
          const match = this.lines[next]!.match(pattern);
          if (match) return finish(() => resolve(match));
        }
        if (!this.running) {
          finish(() => reject(new Error(`${this.description} exited (code ${this.exitCode}) while waiting for ${what}.${this.tail()}`)));
        }
      };
      const timer = setTimeout(
        () => finish(() => reject(new Error(`Timed out after ${timeoutMs / 1000} s waiting for ${what}.${this.tail()}`))),
        timeoutMs,
      );
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.watchers.delete(check);
        settle();
      };
      this.watchers.add(check);
      check();
    });
  }

  /** Stops showing output (lines are still recorded). */
  silence(): void {
    this.quiet = true;
  }

  /** SIGTERM, then SIGKILL if it has not exited within the grace period. */
  async stop(graceMs = STOP_GRACE_MS): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.kill(), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  kill(): void {
    if (this.running) this.child.kill('SIGKILL');
  }

  tail(count = 8): string {
    const last = this.displayed.filter((l) => l.trim() !== '').slice(-count);
    return last.length === 0 ? ` (${this.description} printed nothing)` : `\nLast output of ${this.description}:\n  ${last.join('\n  ')}`;
  }

  private readLines(stream: NodeJS.ReadableStream | null): void {
    if (!stream) return;
    let pending = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const parts = (pending + chunk).split('\n');
      pending = parts.pop()!;
      for (const part of parts) this.record(part);
    });
    stream.on('end', () => {
      if (pending !== '') this.record(pending);
      pending = '';
    });
  }

  private record(raw: string): void {
    const line = raw.replace(/\r$/, '');
    this.lines.push(line);
    const shown = this.display(line);
    if (shown !== null) this.displayed.push(shown);
    if (shown !== null && !this.quiet) this.out.say(this.speaker, shown);
    this.notify();
  }

  private notify(): void {
    for (const watcher of [...this.watchers]) watcher();
  }
}

/** Every process the demo starts, so that all of them can be stopped whatever happens. */
export class ProcessGroup {
  private readonly procs = new Set<Proc>();
  private closed = false;

  constructor(
    private readonly out: Terminal,
    private readonly baseEnv: NodeJS.ProcessEnv,
  ) {}

  /** Starts `node <script> ...args`, with stdin closed so no child ever waits for a person. */
  start(speaker: Speaker, description: string, script: string, args: readonly string[], options: StartOptions = {}): Proc {
    if (this.closed) throw new Error(`Not starting ${description}: the demo is shutting down.`);
    const child = spawn(process.execPath, [script, ...args], {
      env: { ...this.baseEnv, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const proc = new Proc(speaker, description, child, this.out, options.display ?? ((line) => line));
    this.procs.add(proc);
    void proc.exited.then(() => this.procs.delete(proc));
    return proc;
  }

  /** Runs a command to completion and fails unless it exits 0 within the time allowed. */
  async run(
    speaker: Speaker,
    description: string,
    script: string,
    args: readonly string[],
    timeoutMs: number,
    options: StartOptions = {},
  ): Promise<Proc> {
    const proc = this.start(speaker, description, script, args, options);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      proc.kill();
    }, timeoutMs);
    const code = await proc.exited;
    clearTimeout(timer);
    if (timedOut) throw new Error(`${description} did not finish within ${timeoutMs / 1000} s.${proc.tail()}`);
    if (code !== 0) throw new Error(`${description} failed (exit code ${code}).${proc.tail()}`);
    return proc;
  }

  async stopAll(): Promise<void> {
    this.closed = true;
    const running = [...this.procs];
    for (const proc of running) proc.silence();
    await Promise.all(running.map((proc) => proc.stop()));
  }

  /** Synchronous last resort, for process 'exit'. */
  killAll(): void {
    this.closed = true;
    for (const proc of this.procs) proc.kill();
  }
}
