import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { SIGIL_CLI } from '../../../test/support/processes.js';
import type { TestStore } from '../../../test/support/stores.js';

export interface Spawned {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with stdout once it contains `pattern` after `from` (a previous length); rejects on timeout or exit. */
  waitFor(pattern: string | RegExp, options?: { timeoutMs?: number; from?: number }): Promise<string>;
  /** SIGTERM (SIGKILL after 5 s); resolves with the exit code. */
  stop(): Promise<number | null>;
}

const matches = (text: string, pattern: string | RegExp) => (typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text));

/** Starts a long-running CLI (e.g. `sigil-device listen`) and collects its output. */
export function spawnCli(cli: string, args: string[], env: Record<string, string> = {}): Spawned {
  const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    for (const l of listeners) l();
  });
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    waitFor(pattern, { timeoutMs = 15_000, from = 0 } = {}) {
      return new Promise((resolve, reject) => {
        const done = (fn: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          fn();
        };
        const check = () => {
          if (matches(out.slice(from), pattern)) done(() => resolve(out));
        };
        const timer = setTimeout(
          () => done(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${String(pattern)}\nstdout:\n${out}\nstderr:\n${err}`))),
          timeoutMs,
        );
        listeners.add(check);
        void exited.then((code) => {
          if (listeners.has(check)) done(() => reject(new Error(`exited (${code}) while waiting for ${String(pattern)}\nstdout:\n${out}\nstderr:\n${err}`)));
        });
        check();
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        const code = await exited;
        clearTimeout(timer);
        return code;
      }
      return exited;
    },
  };
}

export interface ApiResult<T = any> {
  status: number;
  body: T;
}

/** Calls the server's integrator API with the API key. */
export async function api<T = any>(url: string, apiKey: string, method: string, path: string, body?: unknown): Promise<ApiResult<T>> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
}

/** A free loopback port (free when asked; good enough for restarting a server on the same URL). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts `sigil serve` on a fixed loopback port, so it can be stopped and started again at the
 * same URL (startSigil always asks for an ephemeral one).
 */
export async function startSigilOnPort(
  store: TestStore,
  port: number,
  env: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<{ url: string; apiKey: string | null; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [SIGIL_CLI, 'serve', '--host', '127.0.0.1', '--port', String(port), '--data-dir', store.dataDir, '--log-level', 'warn'], {
    env: { ...process.env, ...(store.databaseUrl ? { DATABASE_URL: store.databaseUrl } : {}), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`sigil serve did not start in ${timeoutMs} ms:\n${out}`)), timeoutMs);
      const check = () => {
        const match = out.match(/is running at (\S+)/);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      };
      child.stdout!.on('data', check);
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`sigil serve exited:\n${out}`));
      });
    });
    return { url, apiKey: out.match(/^\s+(sgk_live_[0-9a-f]{64})$/m)?.[1] ?? null, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
    }),
  ]);
}
