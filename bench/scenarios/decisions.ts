/**
 * Request creation (5 groups of 3 approvers, 3 groups required) and signed device decisions
 * (3 approvals per request, from 3 different groups, so every decision is accepted and every
 * third completes its request) against one real `sigil serve`, with the load coming from
 * driver processes. Each run creates a fresh batch of requests and then decides all of them.
 */
import { actionDigest } from '@sigilauth/protocol';
import type { BenchDevice } from '../lib/devices.js';
import { requestBody } from '../lib/devices.js';
import { split, type Driver } from '../lib/drivers.js';
import { figure, shuffle, summarise, type Figure, type LatencySummary } from '../lib/stats.js';
import { seededRandom } from '../../test/support/prng.js';
import type { ServerHandle } from '../lib/server.js';
import type { HttpResult } from '../driver.js';

export interface PhaseRun {
  ok: number;
  errors: number;
  statuses: Record<string, number>;
  errorSamples: string[];
  wallMs: number;
  perSec: number;
  latency: LatencySummary;
  /** server CPU time / wall time, in % of one core (all instances together) */
  serverCpuPct: number;
  /** all drivers' CPU time / wall time, in % of one core */
  clientCpuPct: number;
  /** process.hrtime window, for slicing a --cpu-prof profile */
  hrWindowUs: [number, number];
  /** per 250 ms since the phase started: [seconds, completions, slowest latency in ms] — shows stalls */
  timeline: Array<[number, number, number]>;
}

export interface PhaseResult {
  perSec: Figure;
  p50Ms: Figure;
  p99Ms: Figure;
  serverCpuPct: Figure;
  clientCpuPct: Figure;
  runs: PhaseRun[];
}

export function phaseResult(runs: PhaseRun[]): PhaseResult {
  return {
    perSec: figure(
      runs.map((r) => r.perSec),
      '/s',
    ),
    p50Ms: figure(
      runs.map((r) => r.latency.p50),
      'ms',
    ),
    p99Ms: figure(
      runs.map((r) => r.latency.p99),
      'ms',
    ),
    serverCpuPct: figure(
      runs.map((r) => r.serverCpuPct),
      '%',
    ),
    clientCpuPct: figure(
      runs.map((r) => r.clientCpuPct),
      '%',
    ),
    runs,
  };
}

const hrUs = () => Number(process.hrtime.bigint() / 1000n);

/** Runs one load phase on every driver at once and measures server (all instances') and client CPU around it. */
export async function runPhase(
  server: ServerHandle | readonly ServerHandle[],
  drivers: Driver[],
  call: (driver: Driver, index: number) => Promise<HttpResult>,
  okStatus: number,
): Promise<{ run: PhaseRun; results: HttpResult[] }> {
  const servers = Array.isArray(server) ? (server as readonly ServerHandle[]) : [server as ServerHandle];
  const cpu = () => servers.reduce((sum, s) => sum + s.cpuMs(), 0);
  const serverCpu0 = cpu();
  const hr0 = hrUs();
  const results = await Promise.all(drivers.map((d, i) => call(d, i)));
  const hr1 = hrUs();
  const serverCpu = cpu() - serverCpu0;
  const startedAt = Math.min(...results.map((r) => r.startedAt));
  const endedAt = Math.max(...results.map((r) => r.endedAt));
  const wallMs = endedAt - startedAt;
  const latencies = results.flatMap((r) => r.latenciesMs);
  const statuses: Record<string, number> = {};
  for (const r of results) for (const [k, v] of Object.entries(r.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
  const ok = statuses[String(okStatus)] ?? 0;
  const merged = new Map<number, [number, number]>();
  for (const r of results) {
    for (const [bucket, [n, max]] of Object.entries(r.timeline)) {
      const m = merged.get(Number(bucket)) ?? [0, 0];
      merged.set(Number(bucket), [m[0] + n, Math.max(m[1], max)]);
    }
  }
  const first = Math.floor(startedAt / 250);
  const timeline = [...merged.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([b, [n, max]]): [number, number, number] => [(b - first) / 4, n, Math.round(max)]);
  return {
    run: {
      ok,
      errors: latencies.length - ok,
      statuses,
      errorSamples: results.flatMap((r) => r.errors).slice(0, 5),
      wallMs,
      perSec: (ok * 1000) / wallMs,
      latency: summarise(latencies),
      serverCpuPct: (100 * serverCpu) / wallMs,
      clientCpuPct: (100 * results.reduce((a, r) => a + r.cpuMs, 0)) / wallMs,
      hrWindowUs: [hr0, hr1],
      timeline,
    },
    results,
  };
}

export interface CreatedRequest {
  requestId: string;
  digest: string;
  groups: string[][]; // fingerprints per group
}

export interface DecisionSuiteOptions {
  runs: number;
  requestsPerRun: number;
  createConcurrency: number;
  decideConcurrency: number;
  /** reuse connections for decisions (default: one connection per decision, as separate devices do) */
  keepAlive: boolean;
}

export interface DecisionSuiteResult {
  creation: PhaseResult;
  decisions: PhaseResult;
  requestsPerRun: number;
  decisionsPerRun: number;
  createConcurrency: number;
  decideConcurrency: number;
  decisionConnections: 'one per decision' | 'keep-alive';
  approverPool: number;
  /** server processes the load was spread over (one PostgreSQL database) */
  instances: number;
}

/**
 * With `servers` (several instances on one PostgreSQL database), driver i sends its share of the
 * load to servers[i % servers.length]; otherwise everything goes to `server`.
 */
export async function runDecisionSuite(
  ctx: { server: ServerHandle; servers?: ServerHandle[]; drivers: Driver[]; apiKey: string; serverId: string; pool: BenchDevice[] },
  o: DecisionSuiteOptions,
  log: (line: string) => void,
): Promise<DecisionSuiteResult> {
  const { drivers, apiKey, serverId, pool } = ctx;
  const servers = ctx.servers ?? [ctx.server];
  const urlFor = (driverIndex: number) => servers[driverIndex % servers.length]!.url;
  const random = seededRandom(42);
  const keys = Object.fromEntries(pool.map((d) => [d.fingerprint, d.privateKeyPem]));
  const creationRuns: PhaseRun[] = [];
  const decisionRuns: PhaseRun[] = [];
  // A first run warms the server up and is not counted: a new process runs the store's WebAssembly as
  // baseline code until it is hot, and the first statements of a new store meet no statistics yet.
  for (let r = -1; r < o.runs; r++) {
    const warmUp = r < 0;
    const name = warmUp ? 'warm-up' : `run ${r + 1}`;
    // ---- request creation
    const bodies = Array.from({ length: o.requestsPerRun }, (_, i) =>
      requestBody(pool, { groups: 5, perGroup: 3, required: 3, random, label: `ENG-${r + 1}-${i}` }),
    );
    const specs = bodies.map((b) => ({
      method: 'POST',
      path: '/v1/mpa/requests',
      body: JSON.stringify(b),
      headers: { authorization: `Bearer ${apiKey}` },
    }));
    const perDriver = split(specs, drivers.length);
    const created = await runPhase(
      servers,
      drivers,
      (d, i) =>
        d.call<HttpResult>('http', {
          baseUrl: urlFor(i),
          requests: perDriver[i],
          concurrency: Math.max(1, Math.round(o.createConcurrency / drivers.length)),
          keepBodies: true,
        }),
      201,
    );
    if (!warmUp) creationRuns.push(created.run);
    log(
      `    ${name}: created ${created.run.ok}/${specs.length} in ${created.run.wallMs.toFixed(0)} ms: ${created.run.perSec.toFixed(0)}/s, p50 ${created.run.latency.p50.toFixed(1)} ms, p99 ${created.run.latency.p99.toFixed(1)} ms, server CPU ${created.run.serverCpuPct.toFixed(0)}%`,
    );
    if (created.run.errors > 0)
      log(`      creation errors: ${JSON.stringify(created.run.statuses)} ${created.run.errorSamples.join(' | ')}`);

    // ---- decisions: 3 approvals per request from 3 distinct groups, shuffled across all requests
    const requests: CreatedRequest[] = [];
    created.results.forEach((res, di) => {
      (res.bodies ?? []).forEach((text, k) => {
        if (!text) return;
        let view: { request_id?: string; action?: Parameters<typeof actionDigest>[0] };
        try {
          view = JSON.parse(text);
        } catch {
          return;
        }
        if (!view.request_id || !view.action) return;
        const body = JSON.parse(perDriver[di]![k]!.body) as ReturnType<typeof requestBody>;
        requests.push({
          requestId: view.request_id,
          digest: actionDigest(view.action),
          groups: body.groups.map((g) => g.approvers.map((a) => a.fingerprint)),
        });
      });
    });
    const tasks = shuffle(
      requests.flatMap((req) =>
        shuffle([0, 1, 2, 3, 4], random)
          .slice(0, 3)
          .map((g) => ({ requestId: req.requestId, digest: req.digest, fingerprint: req.groups[g]![Math.floor(random() * 3)]! })),
      ),
      random,
    );
    const taskSlices = split(tasks, drivers.length);
    await Promise.all(
      drivers.map((d, i) =>
        d.call('presign', {
          serverId,
          tasks: taskSlices[i],
          keys: Object.fromEntries([...new Set(taskSlices[i]!.map((t) => t.fingerprint))].map((f) => [f, keys[f]])),
        }),
      ),
    );
    const decided = await runPhase(
      servers,
      drivers,
      (d, i) =>
        d.call<HttpResult>('decide', {
          baseUrl: urlFor(i),
          concurrency: Math.max(1, Math.round(o.decideConcurrency / drivers.length)),
          keepAlive: o.keepAlive,
        }),
      200,
    );
    if (!warmUp) decisionRuns.push(decided.run);
    log(
      `    ${name}: decided ${decided.run.ok}/${tasks.length} in ${decided.run.wallMs.toFixed(0)} ms: ${decided.run.perSec.toFixed(0)}/s, p50 ${decided.run.latency.p50.toFixed(1)} ms, p99 ${decided.run.latency.p99.toFixed(1)} ms, server CPU ${decided.run.serverCpuPct.toFixed(0)}%, client CPU ${decided.run.clientCpuPct.toFixed(0)}%`,
    );
    if (decided.run.errors > 0)
      log(`      decision errors: ${JSON.stringify(decided.run.statuses)} ${decided.run.errorSamples.join(' | ')}`);
  }
  return {
    creation: phaseResult(creationRuns),
    decisions: phaseResult(decisionRuns),
    requestsPerRun: o.requestsPerRun,
    decisionsPerRun: o.requestsPerRun * 3,
    createConcurrency: o.createConcurrency,
    decideConcurrency: o.decideConcurrency,
    decisionConnections: o.keepAlive ? 'keep-alive' : 'one per decision',
    approverPool: pool.length,
    instances: servers.length,
  };
}
