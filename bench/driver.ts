/**
 * The load driver: runs in its own process (child_process.fork from bench/run.ts), so the load
 * it generates is visible as client CPU and does not hide inside the server's process.
 *
 * Commands arrive over IPC; each is answered with { id, ok, result | error }.
 *   http     closed-loop HTTP requests at a fixed concurrency (keep-alive), latency per request
 *   decide   pre-signs device decisions, waits for "go", then posts them at a fixed concurrency
 *   keygen   makes this driver's share of fan-out devices and returns their public keys
 *   connect  opens one authenticated device WebSocket per key (challenge → signed proof → ready → sync)
 *   arrivals returns and clears the (request, device, time) of every `request` message received
 *   close    closes every device socket
 *   clock    this process's clock, for the coordinator's cross-process offset check
 */
import http from 'node:http';
import { createPrivateKey, type KeyObject } from 'node:crypto';
import WebSocket from 'ws';
import {
  decodePublicKey,
  DomainTag,
  encodePublicKey,
  fingerprintOf,
  generateP256KeyPair,
  signPayload,
  verifyPayload,
} from '@sigilauth/protocol';
import type { DecisionPayload, DeviceSessionProof } from '@sigilauth/protocol/wire';

const epochNow = () => performance.timeOrigin + performance.now();

interface HttpRequestSpec {
  method: string;
  path: string;
  body?: string;
  headers?: Record<string, string>;
}

export interface HttpResult {
  latenciesMs: number[];
  /** completions per 250 ms of wall clock (epoch bucket → [count, slowest latency]) */
  timeline: Record<string, [number, number]>;
  statuses: Record<string, number>;
  bodies?: string[];
  startedAt: number;
  endedAt: number;
  cpuMs: number;
  errors: string[];
}

function send(message: unknown): void {
  process.send!(message);
}

async function runHttp(
  baseUrl: string,
  requests: HttpRequestSpec[],
  concurrency: number,
  keepBodies: boolean,
  okStatuses: number[] = [200, 201],
  keepAlive = true,
): Promise<HttpResult> {
  const url = new URL(baseUrl);
  // keepAlive false: one TCP connection per request, as devices that each post one decision do
  const agent = new http.Agent({ keepAlive, maxSockets: concurrency, maxFreeSockets: concurrency });
  const latencies = new Array<number>(requests.length);
  const bodies = keepBodies ? new Array<string>(requests.length) : undefined;
  const statuses: Record<string, number> = {};
  const errors: string[] = [];
  const timeline: Record<string, [number, number]> = {};
  const done = (latency: number) => {
    const bucket = String(Math.floor(epochNow() / 250));
    const b = (timeline[bucket] ??= [0, 0]);
    b[0]++;
    b[1] = Math.max(b[1], latency);
  };
  let next = 0;
  const cpu0 = process.cpuUsage();
  const startedAt = epochNow();
  const one = (spec: HttpRequestSpec, index: number) =>
    new Promise<void>((resolve) => {
      const t0 = performance.now();
      const req = http.request(
        {
          agent,
          host: url.hostname,
          port: url.port,
          method: spec.method,
          path: spec.path,
          headers: {
            ...(spec.body !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(spec.body) } : {}),
            ...spec.headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            latencies[index] = performance.now() - t0;
            done(latencies[index]);
            const status = String(res.statusCode);
            statuses[status] = (statuses[status] ?? 0) + 1;
            const text = Buffer.concat(chunks).toString();
            if (bodies) bodies[index] = text;
            if (!okStatuses.includes(res.statusCode ?? 0) && errors.length < 5) errors.push(`${status} ${text.slice(0, 300)}`);
            resolve();
          });
        },
      );
      req.on('error', (err) => {
        latencies[index] = performance.now() - t0;
        statuses.error = (statuses.error ?? 0) + 1;
        if (errors.length < 5) errors.push(err.message);
        resolve();
      });
      if (spec.body !== undefined) req.end(spec.body);
      else req.end();
    });
  const worker = async () => {
    while (next < requests.length) {
      const i = next++;
      await one(requests[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, requests.length) }, worker));
  const endedAt = epochNow();
  const cpu = process.cpuUsage(cpu0);
  agent.destroy();
  return {
    latenciesMs: latencies,
    timeline,
    statuses,
    ...(bodies ? { bodies } : {}),
    startedAt,
    endedAt,
    cpuMs: (cpu.user + cpu.system) / 1000,
    errors,
  };
}

// ------------------------------------------------------------------ decisions

interface DecideTask {
  requestId: string;
  fingerprint: string;
  digest: string;
}

let presigned: HttpRequestSpec[] = [];

function presign(serverId: string, keys: Record<string, string>, tasks: DecideTask[]): { signMs: number } {
  const cpu0 = process.cpuUsage();
  const loaded = new Map<string, KeyObject>();
  presigned = tasks.map((t) => {
    let key = loaded.get(t.fingerprint);
    if (!key) loaded.set(t.fingerprint, (key = createPrivateKey(keys[t.fingerprint]!)));
    const payload: DecisionPayload = {
      purpose: 'mpa-decision',
      server_id: serverId,
      request_id: t.requestId,
      fingerprint: t.fingerprint,
      decision: 'approve',
      action_digest: t.digest,
      issued_at: Date.now(),
    };
    const body = JSON.stringify({ payload, signature: signPayload(DomainTag.mpaDecision, payload, key) });
    return { method: 'POST', path: `/v1/mpa/requests/${t.requestId}/decisions`, body };
  });
  const cpu = process.cpuUsage(cpu0);
  return { signMs: (cpu.user + cpu.system) / 1000 };
}

// ------------------------------------------------------------------ fan-out devices

interface FanoutDevice {
  fingerprint: string;
  publicKey: string;
  privateKey: KeyObject;
  ws: WebSocket | null;
}

let devices: FanoutDevice[] = [];
let arrivals: Array<[string, number, number]> = []; // [request_id, device index, time]
let badMessages = 0;
let dropped = 0;

function keygen(count: number): Array<{ fingerprint: string; publicKey: string; name: string }> {
  devices = [];
  for (let i = 0; i < count; i++) {
    const { privateKey, publicKey } = generateP256KeyPair();
    const encoded = encodePublicKey(publicKey);
    devices.push({ fingerprint: fingerprintOf(encoded), publicKey: encoded, privateKey, ws: null });
  }
  return devices.map((d, i) => ({ fingerprint: d.fingerprint, publicKey: d.publicKey, name: `fanout-${process.pid}-${i}` }));
}

function connectOne(index: number, wsUrl: string, serverId: string, serverKey: KeyObject, timeoutMs: number): Promise<number> {
  const device = devices[index]!;
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let phase: 'challenge' | 'ready' | 'sync' | 'live' = 'challenge';
    const ws = new WebSocket(wsUrl, { perMessageDeflate: false, handshakeTimeout: timeoutMs });
    device.ws = ws;
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`device ${index}: handshake timed out in phase ${phase}`));
    }, timeoutMs);
    ws.on('message', (data: Buffer) => {
      let message: { payload: Record<string, any>; signature: string };
      try {
        message = JSON.parse(data.toString());
      } catch {
        badMessages++;
        return;
      }
      // Every server message is signed; a device verifies before trusting it.
      if (
        !verifyPayload(DomainTag.serverMessage, message.payload, message.signature, serverKey) ||
        message.payload.server_id !== serverId
      ) {
        badMessages++;
        return;
      }
      const p = message.payload;
      if (p.type === 'request') {
        arrivals.push([p.request?.request_id, index, epochNow()]);
        return;
      }
      if (phase === 'challenge' && p.type === 'challenge') {
        const proof: DeviceSessionProof = {
          purpose: 'device-session',
          server_id: serverId,
          fingerprint: device.fingerprint,
          nonce: p.nonce,
          issued_at: Date.now(),
        };
        ws.send(
          JSON.stringify({
            type: 'auth',
            payload: proof,
            device_public_key: device.publicKey,
            signature: signPayload(DomainTag.deviceSession, proof, device.privateKey),
          }),
        );
        phase = 'ready';
      } else if (phase === 'ready' && p.type === 'ready') {
        phase = 'sync';
      } else if (phase === 'sync' && p.type === 'sync') {
        phase = 'live';
        clearTimeout(timer);
        resolve(performance.now() - t0);
      } else if (p.type === 'error') {
        clearTimeout(timer);
        reject(new Error(`device ${index}: refused: ${p.message}`));
      }
    });
    ws.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`device ${index}: ${err.message}`));
    });
    ws.on('close', () => {
      if (phase === 'live') dropped++;
    });
  });
}

async function connectAll(
  wsUrl: string,
  serverId: string,
  serverPublicKey: string,
  concurrency: number,
  timeoutMs: number,
  from: number,
  to: number,
) {
  const serverKey = decodePublicKey(serverPublicKey);
  const cpu0 = process.cpuUsage();
  const startedAt = epochNow();
  const handshakeMs: number[] = [];
  const failures: string[] = [];
  let next = from;
  const worker = async () => {
    while (next < to) {
      const i = next++;
      try {
        handshakeMs.push(await connectOne(i, wsUrl, serverId, serverKey, timeoutMs));
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, to - from) }, worker));
  const cpu = process.cpuUsage(cpu0);
  return {
    connected: handshakeMs.length,
    failed: failures.length,
    failures: failures.slice(0, 5),
    handshakeMs,
    startedAt,
    endedAt: epochNow(),
    cpuMs: (cpu.user + cpu.system) / 1000,
    rssKiB: Math.round(process.memoryUsage().rss / 1024),
  };
}

async function closeAll(): Promise<void> {
  await Promise.all(
    devices.map(
      (d) =>
        new Promise<void>((resolve) => {
          const ws = d.ws;
          if (!ws || ws.readyState === WebSocket.CLOSED) return resolve();
          const force = setTimeout(() => ws.terminate(), 2000);
          ws.once('close', () => {
            clearTimeout(force);
            resolve();
          });
          ws.close(1000, 'bench done');
        }),
    ),
  );
}

// ------------------------------------------------------------------ IPC

let cpuMark = process.cpuUsage();

process.on('message', async (msg: { id: number; cmd: string; [k: string]: any }) => {
  try {
    let result: unknown;
    switch (msg.cmd) {
      case 'http':
        result = await runHttp(msg.baseUrl, msg.requests, msg.concurrency, msg.keepBodies ?? false, msg.okStatuses, msg.keepAlive ?? true);
        break;
      case 'presign':
        result = presign(msg.serverId, msg.keys, msg.tasks);
        break;
      case 'decide': {
        const r = await runHttp(msg.baseUrl, presigned, msg.concurrency, false, [200], msg.keepAlive ?? true);
        presigned = [];
        result = r;
        break;
      }
      case 'keygen':
        result = keygen(msg.count);
        break;
      case 'connect':
        result = await connectAll(
          msg.wsUrl,
          msg.serverId,
          msg.serverPublicKey,
          msg.concurrency,
          msg.timeoutMs ?? 60_000,
          msg.from ?? 0,
          msg.to ?? devices.length,
        );
        break;
      case 'arrivals': {
        result = { arrivals: arrivals.map(([r, i, t]) => [r, devices[i]!.fingerprint, t]), badMessages, dropped };
        arrivals = [];
        break;
      }
      case 'cpu-mark': {
        const c = process.cpuUsage(cpuMark);
        cpuMark = process.cpuUsage();
        result = { cpuMs: (c.user + c.system) / 1000 };
        break;
      }
      case 'close':
        await closeAll();
        result = { closed: devices.length };
        break;
      case 'clock':
        result = { t: epochNow() };
        break;
      case 'exit':
        send({ id: msg.id, ok: true, result: null });
        process.exit(0);
        return;
      default:
        throw new Error(`unknown command ${msg.cmd}`);
    }
    send({ id: msg.id, ok: true, result });
  } catch (err) {
    send({ id: msg.id, ok: false, error: (err as Error).stack ?? String(err) });
  }
});
process.on('disconnect', () => process.exit(0));
send({ ready: true });
