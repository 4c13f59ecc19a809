import { spawn, type ChildProcess } from 'node:child_process';
import { waitFor } from './wait.js';

/**
 * A command run on a pseudo-terminal (util-linux `script`), as a person in a terminal runs it:
 * its stdin and stdout are TTYs. What is written to `type` arrives as typed keys.
 */
export interface TerminalProcess {
  child: ChildProcess;
  /** Everything the terminal showed, escape sequences included. */
  output(): string;
  type(keys: string): void;
  waitFor(pattern: string | RegExp, what: string, timeoutMs?: number): Promise<void>;
  /** SIGTERM to the command (SIGKILL after 5 s); resolves with the exit code of `script`. */
  stop(): Promise<number | null>;
  exited: Promise<number | null>;
}

const quote = (arg: string) => `'${arg.replace(/'/g, `'\\''`)}'`;

export function runInTerminal(argv: string[], options: { env?: Record<string, string>; cwd?: string } = {}): TerminalProcess {
  // A terminal of a usual size (a pseudo-terminal starts at 0 x 0), then the command in place of the shell.
  const child = spawn('script', ['-qfec', `stty cols 120 rows 50; exec ${argv.map(quote).join(' ')}`, '/dev/null'], {
    env: { ...process.env, TERM: 'xterm-256color', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(options.cwd ? { cwd: options.cwd } : {}),
    detached: true,
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => out,
    type: (keys) => void child.stdin!.write(keys),
    waitFor: async (pattern, what, timeoutMs = 20_000) => {
      try {
        await waitFor(() => (typeof pattern === 'string' ? out.includes(pattern) : pattern.test(out)), what, timeoutMs);
      } catch (err) {
        throw new Error(`${(err as Error).message}; the terminal showed:\n${out}`);
      }
    },
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        // The whole group: `script` and the command on its terminal.
        try {
          process.kill(-child.pid!, 'SIGTERM');
        } catch {
          // already gone
        }
        const timer = setTimeout(() => {
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {
            // already gone
          }
        }, 5000);
        await exited;
        clearTimeout(timer);
      }
      return exited;
    },
  };
}
