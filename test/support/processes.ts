import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import type { TestStore } from './stores.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Connections each server a test starts may hold (plus one for LISTEN); the suite's use of PostgreSQL stays bounded. */
export const TEST_POOL_SIZE = 5;
export const SIGIL_CLI = `${ROOT}packages/server/bin/sigil.js`;
export const DEVICE_CLI = `${ROOT}packages/device/dist/cli.js`;

export interface SigilProcess {
  url: string;
  /** The first API key, when this process initialised the store. */
  apiKey: string | null;
  child: ChildProcess;
  output(): string;
  /** SIGTERM and wait for exit (SIGKILL after 10 s). */
  stop(): Promise<void>;
  /** SIGKILL: a crash, with no chance to clean up. */
  kill(): Promise<void>;
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** A loopback port that was free a moment ago, for a server that must come back on the same address. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface LaunchedSigil {
  child: ChildProcess;
  url: string;
  /** The first API key, when this process initialised the store. */
  apiKey: string | null;
  output(): string;
  /** performance.timeOrigin + performance.now() when the banner arrived. */
  readyAt: number;
}

/**
 * Spawns `node [nodeArgs] cli serve [args]` with the environment plus `env`, and waits for its
 * banner (written in one piece); kills it and rejects if it exits or does not start in time.
 */
export async function launchSigil(o: {
  cli?: string;
  nodeArgs?: string[];
  args: string[];
  env: Record<string, string>;
  timeoutMs: number;
}): Promise<LaunchedSigil> {
  const child = spawn(process.execPath, [...(o.nodeArgs ?? []), o.cli ?? SIGIL_CLI, 'serve', ...o.args], {
    env: { ...process.env, ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const { url, readyAt } = await new Promise<{ url: string; readyAt: number }>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sigil serve did not start in ${o.timeoutMs} ms:\n${out}`));
    }, o.timeoutMs);
    const check = () => {
      const match = out.match(/is running at (\S+)/);
      if (!match) return;
      clearTimeout(timer);
      child.stdout!.off('data', check);
      child.off('exit', onExit);
      resolve({ url: match[1]!, readyAt: performance.timeOrigin + performance.now() });
    };
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`sigil serve exited with ${code}:\n${out}`));
    };
    child.stdout!.on('data', check);
    child.once('exit', onExit);
  });
  return { child, url, apiKey: out.match(/^\s+(sgk_live_[0-9a-f]{64})$/m)?.[1] ?? null, output: () => out, readyAt };
}

/** Starts a real `sigil serve` on loopback (an ephemeral port unless one is given) and waits for its banner. */
export async function startSigil(
  store: TestStore,
  env: Record<string, string> = {},
  options: { port?: number; timeoutMs?: number; /** more `sigil serve` flags */ args?: string[] } = {},
): Promise<SigilProcess> {
  const { child, url, apiKey, output } = await launchSigil({
    args: ['--port', String(options.port ?? 0), '--data-dir', store.dataDir, ...(options.args ?? [])],
    // A small pool: the suite runs files side by side and must not exhaust PostgreSQL's connections.
    env: {
      SIGIL_LOG_LEVEL: 'warn',
      SIGIL_DB_POOL_SIZE: String(TEST_POOL_SIZE),
      ...(store.databaseUrl ? { DATABASE_URL: store.databaseUrl } : {}),
      ...env,
    },
    timeoutMs: options.timeoutMs ?? 90_000,
  });
  const stop = async (signal: NodeJS.Signals) => {
    const exited = waitForExit(child);
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  return {
    url,
    apiKey,
    child,
    output,
    stop: () => stop('SIGTERM'),
    kill: () => stop('SIGKILL'),
  };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a CLI to completion (killed after timeoutMs). */
export function runCli(
  cli: string,
  args: string[],
  options: { env?: Record<string, string>; timeoutMs?: number; input?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

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
    waitFor(pattern, { timeoutMs = 60_000, from = 0 } = {}) {
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
          () =>
            done(() =>
              reject(new Error(`timed out after ${timeoutMs} ms waiting for ${String(pattern)}\nstdout:\n${out}\nstderr:\n${err}`)),
            ),
          timeoutMs,
        );
        listeners.add(check);
        void exited.then((code) => {
          if (listeners.has(check))
            done(() => reject(new Error(`exited (${code}) while waiting for ${String(pattern)}\nstdout:\n${out}\nstderr:\n${err}`)));
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
