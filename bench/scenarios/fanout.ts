/**
 * Fan-out: N devices (default 10,000) hold authenticated WebSockets to one server, opened from
 * several driver processes. Requests naming 5 random devices are created at a steady rate from
 * this process; each driver timestamps every `request` message after verifying its signature.
 * Latency = (last named device received it) − (POST response read), on one machine's clock
 * (performance.timeOrigin + performance.now(), with each driver's offset measured over IPC).
 * Memory = server RSS growth per connected device, after the RSS settles.
 */
import { execFileSync } from 'node:child_process';
import { approver, type BenchDevice } from '../lib/devices.js';
import { split, startDrivers, stopDrivers, type Driver } from '../lib/drivers.js';
import { http, settledRssKiB, startServer, type ServerHandle } from '../lib/server.js';
import { epochNow, figure, sleep, summarise, type Figure, type LatencySummary } from '../lib/stats.js';
import { seededRandom } from '../../test/support/prng.js';
import { createStore, prepareStore, type DeviceRecord, type StoreKind } from '../lib/store.js';

export interface FanoutOptions {
  devices: number;
  drivers: number;
  runs: number;
  rate: number;
  seconds: number;
  perRequest: number;
  connectConcurrency: number;
}

export interface FanoutRun {
  requests: number;
  /** per request: the slowest of its named devices */
  allDevices: LatencySummary;
  /** per (request, device) */
  perDevice: LatencySummary;
  lost: number;
  postLatency: LatencySummary;
  achievedRate: number;
  serverCpuPct: number;
  clientCpuPct: number;
}

export interface FanoutResult {
  store: StoreKind;
  devices: number;
  connected: number;
  connectFailures: string[];
  drivers: number;
  connectSeconds: number;
  connectsPerSec: number;
  handshake: LatencySummary;
  serverRssBaselineMiB: number;
  serverRssConnectedMiB: number;
  /** (RSS connected − RSS before any connection) / devices, one sample after connecting and one after each run */
  kibPerDevice: Figure;
  /** RSS growth over the second half of the connections / that half: excludes one-off warm-up */
  kibPerDeviceMarginal: number;
  heapUsedPerDeviceKiB: number;
  clockOffsetsMs: number[];
  rate: number;
  seconds: number;
  perRequest: number;
  p50Ms: Figure;
  p99Ms: Figure;
  runs: FanoutRun[];
  badMessages: number;
  dropped: number;
}

function softFdLimit(): number {
  try {
    return Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim());
  } catch {
    return Number.NaN;
  }
}

export async function runFanout(kind: StoreKind, o: FanoutOptions, log: (line: string) => void): Promise<FanoutResult> {
  const limit = softFdLimit();
  const perDriver = Math.ceil(o.devices / o.drivers);
  if (Number.isFinite(limit) && (o.devices + 512 > limit || perDriver + 256 > limit)) {
    throw new Error(
      `fan-out needs ~${o.devices + 512} file descriptors in the server process and ${perDriver + 256} per driver, but ulimit -n is ${limit}: raise it (ulimit -n ${o.devices + 1024}) or lower --devices`,
    );
  }
  const store = await createStore(kind);
  const drivers = await startDrivers(o.drivers);
  let server: ServerHandle | null = null;
  try {
    const counts = split(
      Array.from({ length: o.devices }, (_, i) => i),
      o.drivers,
    ).map((s) => s.length);
    const t0 = performance.now();
    const records = await Promise.all(drivers.map((d, i) => d.call<DeviceRecord[]>('keygen', { count: counts[i] })));
    log(`    ${o.devices} device keys made in ${o.drivers} drivers in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const all = records.flat();
    const t1 = performance.now();
    const prepared = await prepareStore(store, all);
    log(`    ${all.length} devices rows inserted (direct SQL) in ${((performance.now() - t1) / 1000).toFixed(1)} s`);
    server = await startServer({ dataDir: store.dataDir, databaseUrl: store.databaseUrl, inspect: true });
    const info = await http<{ server_id: string; server_public_key: string }>('GET', `${server.url}/v1/info`);
    const offsets = await Promise.all(drivers.map((d) => d.clockOffset()));
    // memory is read after a full GC in the server (through its inspector) and once RSS stops moving
    const settle = async () => {
      const { usedHeapBytes } = await server!.collectGarbage();
      return { rss: await settledRssKiB(server!.pid), heap: usedHeapBytes };
    };
    const before = await settle();
    const baseline = before.rss;
    const wsUrl = `${server.url.replace(/^http/, 'ws')}/v1/device/ws`;

    // connect in two halves, to separate the marginal cost of a connection from one-off warm-up
    const serverCpu0 = server.cpuMs();
    const half = await Promise.all(
      drivers.map((d, i) =>
        d.call('connect', {
          wsUrl,
          serverId: info.body.server_id,
          serverPublicKey: info.body.server_public_key,
          concurrency: o.connectConcurrency,
          from: 0,
          to: Math.floor(counts[i]! / 2),
        }),
      ),
    );
    const halfServerCpu = server.cpuMs() - serverCpu0;
    const rssHalf = (await settle()).rss;
    const serverCpu1 = server.cpuMs();
    const rest = await Promise.all(
      drivers.map((d, i) =>
        d.call('connect', {
          wsUrl,
          serverId: info.body.server_id,
          serverPublicKey: info.body.server_public_key,
          concurrency: o.connectConcurrency,
          from: Math.floor(counts[i]! / 2),
          to: counts[i],
        }),
      ),
    );
    const span = (rs: Array<{ startedAt: number; endedAt: number }>) =>
      Math.max(...rs.map((r) => r.endedAt)) - Math.min(...rs.map((r) => r.startedAt));
    const connectSeconds = (span(half) + span(rest)) / 1000; // the settle pause between the halves excluded
    const connectServerCpu = halfServerCpu + server.cpuMs() - serverCpu1;
    const connected = [...half, ...rest].reduce((a, r) => a + (r.connected as number), 0);
    const connectFailures = [...half, ...rest].flatMap((r) => r.failures as string[]).slice(0, 5);
    const handshake = summarise([...half, ...rest].flatMap((r) => r.handshakeMs as number[]));
    const connectedHalf = half.reduce((a, r) => a + (r.connected as number), 0);
    const after = await settle();
    const rssFull = after.rss;
    const memSamples = [(rssFull - baseline) / connected];
    const marginal = (rssFull - rssHalf) / Math.max(1, connected - connectedHalf);
    log(
      `    connected ${connected}/${o.devices} (p50 handshake ${handshake.p50.toFixed(0)} ms, server CPU ${((100 * connectServerCpu) / (connectSeconds * 1000)).toFixed(0)}%); server RSS ${(baseline / 1024).toFixed(0)} → ${(rssFull / 1024).toFixed(0)} MiB: ${memSamples[0]!.toFixed(1)} KiB/device (marginal ${marginal.toFixed(1)})`,
    );
    if (connectFailures.length) log(`    connect failures: ${connectFailures.join(' | ')}`);

    const fingerprints = all.map((d) => d.fingerprint);
    const byFp = new Map(all.map((d) => [d.fingerprint, d]));
    const random = seededRandom(1234);
    const runs: FanoutRun[] = [];
    let badMessages = 0;
    let dropped = 0;
    for (let r = 0; r < o.runs; r++) {
      await Promise.all(drivers.map((d) => d.call('arrivals'))); // discard anything earlier
      await Promise.all(drivers.map((d) => d.call('cpu-mark')));
      const count = Math.round(o.rate * o.seconds);
      const posted = new Map<string, { at: number; devices: string[] }>();
      const postLat: number[] = [];
      const cpu0 = server.cpuMs();
      const start = epochNow();
      const inflight: Promise<void>[] = [];
      for (let i = 0; i < count; i++) {
        const due = start + (i * 1000) / o.rate;
        const wait = due - epochNow();
        if (wait > 0) await sleep(wait);
        const named = new Set<string>();
        while (named.size < o.perRequest) named.add(fingerprints[Math.floor(random() * fingerprints.length)]!);
        const devices = [...named];
        const body = {
          required: 1,
          groups: [{ name: 'On call', approvers: devices.map((f) => approver(byFp.get(f)!)) }],
          action: { type: 'deploy', description: `Deploy build ${r}-${i}`, params: { build: `${r}-${i}` } },
          expires_in_seconds: 900,
        };
        inflight.push(
          (async () => {
            const t = epochNow();
            const res = await http<{ request_id: string }>('POST', `${server!.url}/v1/mpa/requests`, body, {
              authorization: `Bearer ${prepared.apiKey}`,
            });
            const at = epochNow();
            postLat.push(at - t);
            if (res.status === 201) posted.set(res.body.request_id, { at, devices });
          })(),
        );
      }
      await Promise.all(inflight);
      const sendSeconds = (epochNow() - start) / 1000;
      // collect arrivals until every named device has every request, or 10 s pass
      const seen = new Map<string, Map<string, number>>();
      const deadline = epochNow() + 10_000;
      for (;;) {
        const reports = await Promise.all(
          drivers.map((d) => d.call<{ arrivals: Array<[string, string, number]>; badMessages: number; dropped: number }>('arrivals')),
        );
        reports.forEach((rep, i) => {
          badMessages = Math.max(badMessages, rep.badMessages);
          dropped = Math.max(dropped, rep.dropped);
          for (const [rid, fp, t] of rep.arrivals) {
            const m = seen.get(rid) ?? new Map<string, number>();
            if (!m.has(fp)) m.set(fp, t - offsets[i]!.offsetMs);
            seen.set(rid, m);
          }
        });
        const complete = [...posted].every(([rid, p]) => p.devices.every((f) => seen.get(rid)?.has(f)));
        if (complete || epochNow() > deadline) break;
        await sleep(200);
      }
      const serverCpu = server.cpuMs() - cpu0;
      const clientCpu = (await Promise.all(drivers.map((d) => d.call<{ cpuMs: number }>('cpu-mark')))).reduce((a, c) => a + c.cpuMs, 0);
      const wall = epochNow() - start;
      const allDevices: number[] = [];
      const perDevice: number[] = [];
      let lost = 0;
      for (const [rid, p] of posted) {
        const m = seen.get(rid);
        let worst = -Infinity;
        let complete = true;
        for (const f of p.devices) {
          const t = m?.get(f);
          if (t === undefined) {
            complete = false;
            lost++;
            continue;
          }
          perDevice.push(t - p.at);
          worst = Math.max(worst, t - p.at);
        }
        if (complete) allDevices.push(worst);
      }
      const run: FanoutRun = {
        requests: posted.size,
        allDevices: summarise(allDevices),
        perDevice: summarise(perDevice),
        lost,
        postLatency: summarise(postLat),
        achievedRate: posted.size / sendSeconds,
        serverCpuPct: (100 * serverCpu) / wall,
        clientCpuPct: (100 * clientCpu) / wall,
      };
      runs.push(run);
      log(
        `    run ${r + 1}: ${run.requests} requests at ${run.achievedRate.toFixed(1)}/s to ${o.perRequest} devices each: all-devices p50 ${run.allDevices.p50.toFixed(1)} ms, p99 ${run.allDevices.p99.toFixed(1)} ms (max ${run.allDevices.max.toFixed(1)}), lost ${lost}; POST p50 ${run.postLatency.p50.toFixed(1)} ms; server CPU ${run.serverCpuPct.toFixed(0)}%`,
      );
      memSamples.push(((await settle()).rss - baseline) / connected);
    }
    await Promise.all(drivers.map((d) => d.call('close')));
    return {
      store: kind,
      devices: o.devices,
      connected,
      connectFailures,
      drivers: o.drivers,
      connectSeconds,
      connectsPerSec: connected / connectSeconds,
      handshake,
      serverRssBaselineMiB: baseline / 1024,
      serverRssConnectedMiB: rssFull / 1024,
      kibPerDevice: figure(memSamples, 'KiB'),
      kibPerDeviceMarginal: marginal,
      heapUsedPerDeviceKiB: (after.heap - before.heap) / 1024 / connected,
      clockOffsetsMs: offsets.map((x) => x.offsetMs),
      rate: o.rate,
      seconds: o.seconds,
      perRequest: o.perRequest,
      p50Ms: figure(
        runs.map((r) => r.allDevices.p50),
        'ms',
      ),
      p99Ms: figure(
        runs.map((r) => r.allDevices.p99),
        'ms',
      ),
      runs,
      badMessages,
      dropped,
    };
  } finally {
    await server?.stop();
    await stopDrivers(drivers);
    await store.dispose();
  }
}

export type { BenchDevice };
export type { Driver };
