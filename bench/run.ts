/**
 * `npm run bench`: Sigil's benchmark suite. Real `sigil serve` processes on loopback,
 * the embedded store first, then PostgreSQL when reachable; load from separate driver processes.
 * Writes bench/results/latest.json and prints a table.
 *
 * Flags (also SIGIL_BENCH_<NAME> in the environment, e.g. SIGIL_BENCH_DEVICES=10000):
 *   --runs 3                 runs per figure (median, min, max)
 *   --stores pglite,postgres --only floor,decisions,webhook,fanout,startup
 *   --write-transactions 2000  minimal durable write transactions per floor run
 *   --instances 1,2          server processes sharing one PostgreSQL for the decision benchmark (1 is the main run)
 *   --requests 300           requests created (and decided 3×) per decision run
 *   --create-concurrency 16  --decide-concurrency 32  --drivers 2
 *   --devices 10000          fan-out devices   --fanout-drivers 4  --fanout-rate 20  --fanout-seconds 5
 *   --big-requests 1000000   requests in the big start-up store (0: skip)   --get-requests 1000
 *   --webhook-requests 30    --profile (server --cpu-prof during the decision benchmark)
 *   --keepalive              decisions reuse connections (default: a new connection per decision, like separate devices)
 *   --quick                  small sizes, to check the harness
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatProfile, summariseProfile, type ProfileSummary } from './lib/cpuprofile.js';
import { generateDevices } from './lib/devices.js';
import { startDrivers, stopDrivers } from './lib/drivers.js';
import { http, startServer } from './lib/server.js';
import { round, type Figure } from './lib/stats.js';
import { createStore, postgresReachable, prepareStore, type StoreKind } from './lib/store.js';
import { runDecisionSuite, type DecisionSuiteResult } from './scenarios/decisions.js';
import { runFanout, type FanoutResult } from './scenarios/fanout.js';
import {
  measureSqlFloor,
  measureVerifyFloor,
  measureWriteFloor,
  type SqlFloor,
  type VerifyFloor,
  type WriteFloor,
} from './scenarios/floor.js';
import { runStartup, type StartupResult } from './scenarios/startup.js';
import { runWebhookScenario, type WebhookResult } from './scenarios/webhook.js';

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

// ------------------------------------------------------------------ options

const NUMBERS = [
  'runs',
  'requests',
  'create-concurrency',
  'decide-concurrency',
  'drivers',
  'devices',
  'fanout-drivers',
  'fanout-rate',
  'fanout-seconds',
  'connect-concurrency',
  'big-requests',
  'get-requests',
  'get-concurrency',
  'webhook-requests',
  'floor-requests',
  'write-transactions',
] as const;
const SWITCHES = ['quick', 'keepalive', 'profile'] as const;
const { values } = parseArgs({
  options: {
    ...Object.fromEntries(NUMBERS.map((name) => [name, { type: 'string' }])),
    ...Object.fromEntries(SWITCHES.map((name) => [name, { type: 'boolean' }])),
    stores: { type: 'string' },
    only: { type: 'string' },
    instances: { type: 'string' },
  } as Record<string, { type: 'string' | 'boolean' }>,
  strict: true,
  allowPositionals: false,
});
/** A flag as given on the command line, else SIGIL_BENCH_<NAME> from the environment. */
function flag(name: string): string | undefined {
  const v = values[name];
  if (v !== undefined) return String(v);
  return process.env[`SIGIL_BENCH_${name.toUpperCase().replaceAll('-', '_')}`];
}
const quick = flag('quick') === 'true';
const num = (name: (typeof NUMBERS)[number], normal: number, small: number) => {
  const v = flag(name);
  const n = v === undefined ? (quick ? small : normal) : Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a number, not ${v}`);
  return n;
};
const opts = {
  runs: num('runs', 3, 2),
  requests: num('requests', 300, 40),
  createConcurrency: num('create-concurrency', 16, 8),
  decideConcurrency: num('decide-concurrency', 32, 8),
  drivers: num('drivers', 2, 2),
  devices: num('devices', 10_000, 400),
  fanoutDrivers: num('fanout-drivers', 4, 2),
  fanoutRate: num('fanout-rate', 20, 10),
  fanoutSeconds: num('fanout-seconds', 5, 2),
  connectConcurrency: num('connect-concurrency', 64, 32),
  bigRequests: num('big-requests', 1_000_000, 20_000),
  getRequests: num('get-requests', 1000, 200),
  getConcurrency: num('get-concurrency', 16, 8),
  webhookRequests: num('webhook-requests', 30, 8),
  floorRequests: num('floor-requests', 300, 40),
  writeTransactions: num('write-transactions', 2000, 300),
  instances: (flag('instances') ?? '1,2')
    .split(',')
    .map(Number)
    .filter((n) => Number.isInteger(n) && n >= 1),
  keepAlive: flag('keepalive') === 'true',
  profile: flag('profile') === 'true',
  stores: (flag('stores') ?? 'pglite,postgres').split(',') as StoreKind[],
  only: new Set((flag('only') ?? 'floor,decisions,webhook,fanout,startup').split(',')),
};

const log = (line: string) => process.stderr.write(`${line}\n`);

// ------------------------------------------------------------------ machine

function loadAvg(): number[] {
  return os.loadavg().map((l) => round(l, 2));
}
function shell(cmd: string): string {
  try {
    return execFileSync('sh', ['-c', cmd], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}
const machine = {
  nproc: Number(shell('nproc')) || os.availableParallelism(),
  cpuModel: os.cpus()[0]?.model ?? 'unknown',
  memoryGiB: round(os.totalmem() / 2 ** 30, 1),
  node: process.version,
  platform: `${os.type()} ${os.release()}`,
  ulimitN: shell('ulimit -n'),
  loadAvgStart: loadAvg(),
  loadAvgEnd: [] as number[],
  uptimeStart: shell('uptime'),
  gitCommit: shell('git rev-parse --short HEAD'),
  gitDirty: shell('git status --porcelain -- packages | wc -l'),
};

// ------------------------------------------------------------------ suite

interface StoreResults {
  decisions?: DecisionSuiteResult | { error: string };
  webhook?: WebhookResult | { error: string };
  fanout?: FanoutResult | { error: string };
  startup?: StartupResult | { error: string };
  /** the decision benchmark on several server processes sharing the store (PostgreSQL) */
  scaling?: Array<{ instances: number; result: DecisionSuiteResult | { error: string } }>;
  profile?: Array<{ thread: string; decisions: ProfileSummary; creation: ProfileSummary; file: string }>;
}

const results: {
  machine: typeof machine;
  options: typeof opts;
  startedAt: string;
  finishedAt?: string;
  durationSeconds?: number;
  floor: {
    verify?: VerifyFloor;
    write: Partial<Record<StoreKind, WriteFloor | { error: string }>>;
    sql: Partial<Record<StoreKind, SqlFloor | { error: string }>>;
  };
  stores: Partial<Record<StoreKind, StoreResults>>;
  postgres: { reachable: boolean; reason?: string | undefined; version?: string | undefined };
} = {
  machine,
  options: opts,
  startedAt: new Date().toISOString(),
  floor: { write: {}, sql: {} },
  stores: {},
  postgres: { reachable: false },
};

async function guarded<T>(name: string, fn: () => Promise<T>): Promise<T | { error: string }> {
  try {
    return await fn();
  } catch (err) {
    log(`  ${name} FAILED: ${(err as Error).stack ?? err}`);
    return { error: (err as Error).message };
  }
}

async function decisionsAndWebhook(kind: StoreKind, out: StoreResults): Promise<void> {
  const store = await createStore(kind);
  const pool = generateDevices(150, 'approver');
  const prepared = await prepareStore(store, pool);
  const profileDir = join(RESULTS_DIR, 'profiles', `${kind}-${Date.now()}`);
  if (opts.profile) mkdirSync(profileDir, { recursive: true });
  const server = await startServer({
    dataDir: store.dataDir,
    databaseUrl: store.databaseUrl,
    env: { SIGIL_WEBHOOK_ALLOW_PRIVATE: 'true' },
    nodeArgs: opts.profile ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [],
  });
  const drivers = await startDrivers(opts.drivers);
  try {
    const info = await http<{ server_id: string }>('GET', `${server.url}/v1/info`);
    const ctx = { server, drivers, apiKey: prepared.apiKey, serverId: info.body.server_id, pool };
    if (opts.only.has('decisions')) {
      log(`  [${kind}] request creation and decisions (${opts.requests} requests, ${opts.requests * 3} decisions per run)`);
      out.decisions = await guarded('decisions', () =>
        runDecisionSuite(
          ctx,
          {
            runs: opts.runs,
            requestsPerRun: opts.requests,
            createConcurrency: opts.createConcurrency,
            decideConcurrency: opts.decideConcurrency,
            keepAlive: opts.keepAlive,
          },
          log,
        ),
      );
    }
    if (opts.only.has('webhook')) {
      log(`  [${kind}] decision to webhook`);
      out.webhook = await guarded('webhook', () => runWebhookScenario(ctx, { runs: opts.runs, requestsPerRun: opts.webhookRequests }, log));
      if ('available' in out.webhook && !out.webhook.available) log(`    not available: ${out.webhook.reason}`);
    }
  } finally {
    await stopDrivers(drivers);
    await server.stop();
    await store.dispose();
  }
  if (opts.profile && out.decisions && 'decisions' in out.decisions) {
    const { decisions: decided, creation: created } = out.decisions;
    // One profile per thread (CPU.<date>.<time>.<pid>.<thread>.<n>.cpuprofile): the main thread,
    // and on the embedded store the store's own thread, whose work the main thread's profile does not show.
    const threadOf = (file: string) => Number(file.split('.').at(-3));
    out.profile = readdirSync(profileDir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .sort((a, b) => threadOf(a) - threadOf(b))
      .map((file) => {
        const path = join(profileDir, file);
        const thread = threadOf(file) === 0 ? 'main thread' : `worker thread ${threadOf(file)}`;
        const decisions = summariseProfile(
          path,
          30,
          decided.runs.map((r) => r.hrWindowUs),
        );
        const creation = summariseProfile(
          path,
          30,
          created.runs.map((r) => r.hrWindowUs),
        );
        log(`\n  [${kind}] server CPU profile during the decision phases, ${thread}\n${formatProfile(decisions, 25)}`);
        log(`\n  [${kind}] server CPU profile during request creation, ${thread}\n${formatProfile(creation, 15)}\n`);
        return { thread, decisions, creation, file: path };
      });
  }
}

/** Request creation and decisions with the load spread over `instances` server processes on one database. */
async function decisionsOnInstances(kind: StoreKind, instances: number): Promise<DecisionSuiteResult> {
  const store = await createStore(kind);
  const pool = generateDevices(150, 'approver');
  const prepared = await prepareStore(store, pool);
  const servers: Awaited<ReturnType<typeof startServer>>[] = [];
  let drivers: Awaited<ReturnType<typeof startDrivers>> = [];
  try {
    for (let i = 0; i < instances; i++) servers.push(await startServer({ dataDir: store.dataDir, databaseUrl: store.databaseUrl }));
    drivers = await startDrivers(Math.max(opts.drivers, instances));
    const info = await http<{ server_id: string }>('GET', `${servers[0]!.url}/v1/info`);
    return await runDecisionSuite(
      { server: servers[0]!, servers, drivers, apiKey: prepared.apiKey, serverId: info.body.server_id, pool },
      {
        runs: opts.runs,
        requestsPerRun: opts.requests,
        createConcurrency: opts.createConcurrency,
        decideConcurrency: opts.decideConcurrency,
        keepAlive: opts.keepAlive,
      },
      log,
    );
  } finally {
    await stopDrivers(drivers);
    for (const s of servers) await s.stop();
    await store.dispose();
  }
}

async function main(): Promise<void> {
  const t0 = performance.now();
  log(
    `Sigil benchmarks: ${machine.nproc} CPUs (${machine.cpuModel}), Node ${machine.node}, load average ${machine.loadAvgStart.join(' ')}`,
  );
  const pg = await postgresReachable();
  results.postgres = { reachable: pg.ok, reason: pg.reason, version: pg.version };
  const stores = opts.stores.filter((s) => s === 'pglite' || (s === 'postgres' && pg.ok));
  if (opts.stores.includes('postgres') && !pg.ok) log(`PostgreSQL unreachable (${pg.reason}): embedded store only`);

  if (opts.only.has('floor')) {
    log('floor: raw P-256 verify rate');
    results.floor.verify = measureVerifyFloor(opts.runs, 1000);
    log(
      `  ${results.floor.verify.rawPerSec.median.toFixed(0)} verifies/s (raw), ${results.floor.verify.fullPerSec.median.toFixed(0)}/s as the server calls it`,
    );
    for (const kind of stores) {
      log(`floor: the minimal durable write transaction, ${kind} (${opts.decideConcurrency} callers)`);
      const w = await guarded(`write floor ${kind}`, () =>
        measureWriteFloor(kind, opts.runs, opts.writeTransactions, opts.decideConcurrency),
      );
      results.floor.write[kind] = w;
      if ('perSec' in w)
        log(
          `  ${w.perSec.median.toFixed(0)} transactions/s on ${w.connections} connection(s) (runs ${w.perSec.runs.map((x) => x.toFixed(0)).join(', ')})`,
        );
      log(`floor: the decision transaction, direct SQL, ${kind}`);
      const r = await guarded(`sql floor ${kind}`, () => measureSqlFloor(kind, opts.runs, opts.floorRequests, opts.decideConcurrency));
      results.floor.sql[kind] = r;
      if ('perSec' in r) log(`  ${r.perSec.median.toFixed(0)} transactions/s (runs ${r.perSec.runs.map((x) => x.toFixed(0)).join(', ')})`);
    }
  }
  for (const kind of stores) {
    const out: StoreResults = (results.stores[kind] = {});
    log(`\n== ${kind} ==`);
    if (opts.only.has('decisions') || opts.only.has('webhook')) {
      const e = await guarded(`decisions/webhook ${kind}`, () => decisionsAndWebhook(kind, out));
      if (e && 'error' in e) out.decisions ??= e;
    }
    if (opts.only.has('decisions') && kind === 'postgres') {
      for (const n of opts.instances.filter((i) => i > 1)) {
        log(`  [${kind}] request creation and decisions on ${n} server processes`);
        (out.scaling ??= []).push({
          instances: n,
          result: await guarded(`decisions on ${n} instances`, () => decisionsOnInstances(kind, n)),
        });
      }
    }
    if (opts.only.has('fanout')) {
      log(`  [${kind}] fan-out to ${opts.devices} WebSocket devices`);
      out.fanout = await guarded('fanout', () =>
        runFanout(
          kind,
          {
            devices: opts.devices,
            drivers: opts.fanoutDrivers,
            runs: opts.runs,
            rate: opts.fanoutRate,
            seconds: opts.fanoutSeconds,
            perRequest: 5,
            connectConcurrency: opts.connectConcurrency,
          },
          log,
        ),
      );
    }
    if (opts.only.has('startup')) {
      log(`  [${kind}] start-up`);
      const drivers = await startDrivers(2);
      try {
        out.startup = await guarded('startup', () =>
          runStartup(
            kind,
            { runs: opts.runs, bigRequests: opts.bigRequests, getRequests: opts.getRequests, getConcurrency: opts.getConcurrency },
            drivers,
            log,
          ),
        );
      } finally {
        await stopDrivers(drivers);
      }
    }
  }
  machine.loadAvgEnd = loadAvg();
  results.finishedAt = new Date().toISOString();
  results.durationSeconds = round((performance.now() - t0) / 1000, 1);
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`${table()}\n`);
  log(`\nwrote bench/results/latest.json (${results.durationSeconds} s)`);
}

// ------------------------------------------------------------------ table

function fmt(f: Figure | undefined | null, digits = 0): string {
  if (!f || !Number.isFinite(f.median)) return 'n/a';
  const d = (n: number) => n.toFixed(digits);
  return f.runs.length > 1 ? `${d(f.median)} [${d(f.min)}–${d(f.max)}]` : d(f.median);
}
const ok = <T extends object>(v: T | { error: string } | undefined): T | null => (v && !('error' in v) ? (v as T) : null);
const err = (v: object | undefined) => (v && 'error' in v ? `error: ${(v as { error: string }).error.slice(0, 60)}` : 'n/a');
/** The formatted figure, or the error of the scenario that should have produced it. */
const or = (text: string, v: object | undefined) => (text === 'n/a' ? err(v) : text);

function table(): string {
  const kinds = Object.keys(results.stores) as StoreKind[];
  const rows: string[][] = [];
  const section = (title: string) => rows.push([`— ${title}`]);
  const row = (metric: string, values: string[], target = '') => rows.push([metric, ...values, target]);
  const per = (fn: (kind: StoreKind) => string) => kinds.map(fn);

  const verify = results.floor.verify;
  const writeFloor = (k: StoreKind) => ok(results.floor.write[k])?.perSec.median ?? Number.NaN;
  /** A throughput as a fraction of the store's minimal durable write transaction. */
  const ofFloor = (k: StoreKind, perSec: number | undefined) =>
    perSec !== undefined && Number.isFinite(writeFloor(k)) ? `${((100 * perSec) / writeFloor(k)).toFixed(0)}%` : 'n/a';
  section('floor (same machine, same run): every throughput below is also given as a % of the write transaction');
  row(
    'minimal durable write transaction (/s)',
    per((k) => {
      const w = ok(results.floor.write[k]);
      return w ? `${fmt(w.perSec)} (${w.connections} conn.)` : err(results.floor.write[k]);
    }),
  );
  row(
    'P-256 verify, raw node:crypto (/s, 1 thread)',
    kinds.map(() => fmt(verify?.rawPerSec)),
  );
  row(
    'P-256 verify as the server calls it (/s)',
    kinds.map(() => fmt(verify?.fullPerSec)),
  );
  row(
    '  breakdown: recordDecision called directly (/s)',
    per((k) => or(fmt(ok(results.floor.sql[k])?.perSec), results.floor.sql[k])),
  );
  row(
    '    % of the write transaction',
    per((k) => ofFloor(k, ok(results.floor.sql[k])?.perSec.median)),
  );
  section('1. decisions, signed, end to end');
  row(
    'decisions accepted (/s)',
    per((k) => or(fmt(ok(results.stores[k]?.decisions)?.decisions.perSec), results.stores[k]?.decisions)),
  );
  row(
    '  % of the write transaction',
    per((k) => ofFloor(k, ok(results.stores[k]?.decisions)?.decisions.perSec.median)),
  );
  row(
    '  latency p50 (ms)',
    per((k) => fmt(ok(results.stores[k]?.decisions)?.decisions.p50Ms, 1)),
  );
  row(
    '  latency p99 (ms)',
    per((k) => fmt(ok(results.stores[k]?.decisions)?.decisions.p99Ms, 1)),
  );
  row(
    '  server CPU (% of a core)',
    per((k) => fmt(ok(results.stores[k]?.decisions)?.decisions.serverCpuPct)),
  );
  row(
    '  client CPU, drivers (% of a core)',
    per((k) => fmt(ok(results.stores[k]?.decisions)?.decisions.clientCpuPct)),
  );
  for (const n of opts.instances.filter((i) => i > 1)) {
    const scaled = (k: StoreKind) => results.stores[k]?.scaling?.find((x) => x.instances === n)?.result;
    if (!kinds.some((k) => scaled(k))) continue;
    row(
      `decisions accepted, ${n} server processes (/s)`,
      per((k) => (scaled(k) ? or(fmt(ok(scaled(k))?.decisions.perSec), scaled(k)) : 'n/a')),
    );
    row(
      '  % of the write transaction',
      per((k) => ofFloor(k, ok(scaled(k))?.decisions.perSec.median)),
    );
    row(
      '  latency p50 / p99 (ms)',
      per((k) => {
        const d = ok(scaled(k))?.decisions;
        return d ? `${d.p50Ms.median.toFixed(1)} / ${d.p99Ms.median.toFixed(1)}` : 'n/a';
      }),
    );
    row(
      '  requests created (/s)',
      per((k) => fmt(ok(scaled(k))?.creation.perSec)),
    );
  }
  section('5. request creation (5 groups × 3 approvers)');
  row(
    'requests created (/s)',
    per((k) => fmt(ok(results.stores[k]?.decisions)?.creation.perSec)),
  );
  row(
    '  % of the write transaction',
    per((k) => ofFloor(k, ok(results.stores[k]?.decisions)?.creation.perSec.median)),
  );
  row(
    '  latency p50 (ms)',
    per((k) => fmt(ok(results.stores[k]?.decisions)?.creation.p50Ms, 1)),
  );
  row(
    '  latency p99 (ms)',
    per((k) => fmt(ok(results.stores[k]?.decisions)?.creation.p99Ms, 1)),
  );
  row(
    '  server CPU (% of a core)',
    per((k) => fmt(ok(results.stores[k]?.decisions)?.creation.serverCpuPct)),
  );
  section('3. fan-out');
  row(
    'devices connected',
    per((k) => {
      const f = ok(results.stores[k]?.fanout);
      return f ? `${f.connected}/${f.devices} (${f.connectsPerSec.toFixed(0)}/s)` : err(results.stores[k]?.fanout);
    }),
  );
  row(
    'POST → all 5 devices have it, p50 (ms)',
    per((k) => or(fmt(ok(results.stores[k]?.fanout)?.p50Ms, 1), results.stores[k]?.fanout)),
  );
  row(
    'POST → all 5 devices have it, p99 (ms)',
    per((k) => fmt(ok(results.stores[k]?.fanout)?.p99Ms, 1)),
    '< 50 ms',
  );
  row(
    'server memory per idle device (KiB)',
    per((k) => fmt(ok(results.stores[k]?.fanout)?.kibPerDevice, 1)),
    '< 20 KiB',
  );
  row(
    '  marginal, second half of the devices (KiB)',
    per((k) => ok(results.stores[k]?.fanout)?.kibPerDeviceMarginal.toFixed(1) ?? 'n/a'),
  );
  row(
    '  of which V8 heap (KiB)',
    per((k) => ok(results.stores[k]?.fanout)?.heapUsedPerDeviceKiB.toFixed(1) ?? 'n/a'),
  );
  row(
    'server RSS idle → all connected (MiB)',
    per((k) => {
      const f = ok(results.stores[k]?.fanout);
      return f ? `${f.serverRssBaselineMiB.toFixed(0)} → ${f.serverRssConnectedMiB.toFixed(0)}` : 'n/a';
    }),
  );
  section('4. decision → webhook');
  row(
    'p50 (ms)',
    per((k) => {
      const w = results.stores[k]?.webhook;
      if (!w) return 'n/a';
      if ('error' in w) return err(w);
      return w.available ? fmt(w.p50Ms, 1) : 'not available';
    }),
  );
  row(
    'p99 (ms)',
    per((k) => {
      const w = results.stores[k]?.webhook;
      return w && !('error' in w) && w.available ? fmt(w.p99Ms, 1) : 'n/a';
    }),
    '< 50 ms',
  );
  section('6. start-up of sigil serve (spawn → the printed URL answers GET /healthz)');
  row(
    'empty store, new (ms)',
    per((k) => or(fmt(ok(results.stores[k]?.startup)?.newStoreMs), results.stores[k]?.startup)),
    '< 3000 (embedded)',
  );
  if (kinds.some((k) => ok(results.stores[k]?.startup)?.pgliteTemplate)) {
    rows[rows.length - 1]![0] = 'empty store, new, from the template (ms)';
    row(
      'empty store, new, with initdb (ms)',
      per((k) => fmt(ok(results.stores[k]?.startup)?.newStoreInitdbMs)),
    );
  }
  row(
    'empty store, existing (ms)',
    per((k) => fmt(ok(results.stores[k]?.startup)?.existingStoreMs)),
    '< 1000 (embedded)',
  );
  row(
    '  of which node + module load (ms)',
    per((k) => fmt(ok(results.stores[k]?.startup)?.cliLoadMs)),
  );
  row(
    'big store: requests',
    per((k) => String(ok(results.stores[k]?.startup)?.big?.requests ?? 'n/a')),
  );
  row(
    'big store, existing (ms)',
    per((k) => fmt(ok(results.stores[k]?.startup)?.big?.startupMs)),
    '< 1000 (embedded)',
  );
  row(
    'GET /v1/mpa/requests/{id} p50, serial (ms)',
    per((k) => fmt(ok(results.stores[k]?.startup)?.big?.getSerial.p50Ms, 2)),
  );
  row(
    'GET /v1/mpa/requests/{id} p99, serial (ms)',
    per((k) => fmt(ok(results.stores[k]?.startup)?.big?.getSerial.p99Ms, 2)),
  );
  row(
    `GET at ${opts.getConcurrency} concurrent (/s)`,
    per((k) => fmt(ok(results.stores[k]?.startup)?.big?.getConcurrent.perSec)),
  );

  const header = ['metric', ...kinds.map((k) => (k === 'pglite' ? 'embedded (PGlite)' : 'PostgreSQL')), 'target'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.filter((r) => r.length > 1).map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const out = [
    '',
    `Sigil benchmarks — ${machine.nproc} CPUs (${machine.cpuModel}), ${machine.memoryGiB} GiB, Node ${machine.node}`,
    `load average at start ${machine.loadAvgStart.join(' ')}, at end ${machine.loadAvgEnd.join(' ')}${Math.max(...machine.loadAvgStart, ...machine.loadAvgEnd) > machine.nproc * 0.5 ? '  (machine busy: figures are noisy)' : ''}`,
    `median of ${opts.runs} runs [min–max]`,
    '',
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map((r) => (r.length === 1 ? r[0]! : line(r))),
  ];
  return out.join('\n');
}

main().catch((e) => {
  log((e as Error).stack ?? String(e));
  process.exit(1);
});
