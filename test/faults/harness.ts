import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { actionDigest } from '@sigilauth/protocol';
import { Api, pairDevice } from '../support/api.js';
import { TestDevice } from '../support/device-keys.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEVICE_CLI, freePort, runCli, spawnCli, startSigil, type SigilProcess } from '../support/processes.js';
import type { TestStore } from '../support/stores.js';
import { waitFor } from '../support/wait.js';
import { Receiver } from '../support/webhook-receiver.js';

export { Receiver, waitFor };

/** What every fault scenario's servers run with: fast webhook retries, a loopback receiver, unthrottled pairing. */
export const FAULT_ENV = {
  SIGIL_PAIRING_RATE_LIMIT: '1000',
  SIGIL_WEBHOOK_ALLOW_PRIVATE: 'true',
  SIGIL_WEBHOOK_RETRY_SCHEDULE_MS: '200,400,800,1000,1000,1000,1000,1000',
};

/**
 * On PostgreSQL an attempt cut off by a crash or an outage stays leased until its lease runs out
 * (2 × attempt timeout + 5 s): a short attempt timeout keeps that inside the scenarios' waits.
 */
export const POSTGRES_FAULT_ENV = { ...FAULT_ENV, SIGIL_WEBHOOK_TIMEOUT_MS: '2000' };

/** N real `sigil serve` processes on one store, each on a fixed loopback port so it can come back there. */
export class Cluster {
  private constructor(
    readonly store: TestStore,
    readonly env: Record<string, string>,
    readonly ports: number[],
    readonly processes: Array<SigilProcess | null>,
    readonly apiKey: string,
  ) {}

  static async start(store: TestStore, size: number, env: Record<string, string> = {}): Promise<Cluster> {
    const ports = await Promise.all(Array.from({ length: size }, () => freePort()));
    const first = await startSigil(store, env, { port: ports[0]! });
    const rest = await Promise.allSettled(ports.slice(1).map((port) => startSigil(store, env, { port })));
    const started = rest.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = rest.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await Promise.all([first, ...started].map((p) => p.stop()));
      throw failed.reason;
    }
    return new Cluster(store, env, ports, [first, ...started], first.apiKey!);
  }

  url(i: number): string {
    return `http://127.0.0.1:${this.ports[i]}`;
  }

  api(i: number): Api {
    return new Api(this.url(i), this.apiKey);
  }

  async kill(i: number): Promise<void> {
    await this.processes[i]?.kill();
    this.processes[i] = null;
  }

  async restart(i: number): Promise<void> {
    await this.processes[i]?.stop();
    this.processes[i] = await startSigil(this.store, this.env, { port: this.ports[i]! });
  }

  async stop(): Promise<void> {
    await Promise.all(this.processes.map((p) => p?.stop()));
  }
}

export interface FaultRig {
  cluster: Cluster;
  /** Receives every webhook of the organisation. */
  receiver: Receiver;
  serverId: string;
  approvers: Approvers;
}

/** A cluster of `size` instances on one store, a webhook receiver, and approvers paired through instance `pairThrough`. */
export async function startFaultRig(
  store: TestStore,
  size: number,
  env: Record<string, string>,
  approvers: { groups: number; perGroup: number; pairThrough?: number },
): Promise<FaultRig> {
  const cluster = await Cluster.start(store, size, env);
  let receiver: Receiver | undefined;
  try {
    receiver = await Receiver.start();
    const webhook = await cluster.api(0).post('/v1/webhooks', { url: receiver.url });
    assert.equal(webhook.status, 201, JSON.stringify(webhook.body));
    const serverId = (await cluster.api(0).get('/v1/info')).body.server_id as string;
    const paired = await pairApprovers(cluster.api(approvers.pairThrough ?? 0), approvers.groups, approvers.perGroup);
    return { cluster, receiver, serverId, approvers: paired };
  } catch (err) {
    await cluster.stop();
    await receiver?.close();
    throw err;
  }
}

export interface Approvers {
  devices: TestDevice[];
  groups: Array<{ name: string; approvers: Array<{ fingerprint: string; device_public_key: string }> }>;
  groupOf: Map<TestDevice, number>;
}

export async function pairApprovers(api: Api, groups: number, perGroup: number): Promise<Approvers> {
  const serverId = (await api.get('/v1/info')).body.server_id as string;
  const devices: TestDevice[] = [];
  const groupOf = new Map<TestDevice, number>();
  const list = [];
  for (let g = 0; g < groups; g++) {
    const members = Array.from({ length: perGroup }, (_, i) => new TestDevice(`g${g}-d${i}`));
    for (const d of members) {
      await pairDevice(api, serverId, d);
      devices.push(d);
      groupOf.set(d, g);
    }
    list.push({ name: `Group ${g}`, approvers: members.map((d) => d.approver) });
  }
  return { devices, groups: list, groupOf };
}

/** `unknown`: an attempt's answer was lost and the request has ended since; storage tells. */
export type Outcome = 'recorded' | 'too_late' | 'unknown';

/**
 * Sends one signed decision like a device behind a load balancer: to a random instance, and on a
 * network error or 503 to another, with the same signed body, until it gets a definitive answer.
 * A 409 already_decided after a lost answer (none, or a 503: the store may have committed as its
 * connection failed) means the first attempt was recorded.
 */
export async function decide(
  apis: () => Api[],
  serverId: string,
  requestId: string,
  digest: string,
  device: TestDevice,
  decision: 'approve' | 'deny',
  deadlineMs = 60_000,
): Promise<Outcome> {
  const body = device.decisionBody(serverId, requestId, digest, decision);
  const deadline = Date.now() + deadlineMs;
  let lostAnswer = false;
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    const targets = apis();
    const api = targets[Math.floor(Math.random() * targets.length)]!;
    try {
      const res = await api.withKey(null).post(`/v1/mpa/requests/${requestId}/decisions`, body);
      if (res.status === 200) return 'recorded';
      if (res.status === 409 && res.body.error.code === 'already_decided') {
        if (lostAnswer) return 'recorded';
        throw new Error(`decision for ${requestId} refused as a replay without an earlier attempt`);
      }
      if (res.status === 409 && res.body.error.code === 'request_completed') return lostAnswer ? 'unknown' : 'too_late';
      if (res.status !== 503) throw new Error(`unexpected answer ${res.status}: ${JSON.stringify(res.body)}`);
      lostAnswer = true;
    } catch (err) {
      if (!(err instanceof TypeError)) throw err; // fetch failed: the instance is down or died mid-request
      lostAnswer = true;
    }
    await sleep(Math.min(1000, 50 * 2 ** attempt));
  }
  throw new Error(`no definitive answer for a decision on ${requestId} within ${deadlineMs} ms`);
}

/** Creates a request through any live instance, retrying like the SDK does with one idempotency key. */
export async function createRequest(
  apis: () => Api[],
  body: unknown,
  key: string,
  deadlineMs = 60_000,
): Promise<{ request_id: string; action: never }> {
  const deadline = Date.now() + deadlineMs;
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    const targets = apis();
    try {
      const res = await targets[attempt % targets.length]!.post('/v1/mpa/requests', body, { 'idempotency-key': key });
      if (res.status === 201) return res.body;
      if (res.status !== 503) throw new Error(`create failed ${res.status}: ${JSON.stringify(res.body)}`);
    } catch (err) {
      if (!(err instanceof TypeError)) throw err;
    }
    await sleep(Math.min(1000, 50 * 2 ** attempt));
  }
  throw new Error('could not create a request in time');
}

export const digestOf = (created: { action: unknown }) => actionDigest(created.action as Parameters<typeof actionDigest>[0]);

export interface EventTally {
  expected: number;
  seen: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
}

/**
 * Compares the webhook events a receiver got (deduplicated by webhook-id) with the state changes
 * that happened to those requests: one event per (request, type). A second webhook-id for the same
 * change, or an event for a change that did not happen, is a duplicate; a terminal event that
 * arrived before the request's mpa.created is out of order.
 */
export function tallyEvents(receiver: Receiver, expected: Array<{ requestId: string; type: string }>): EventTally {
  const firstArrival = new Map<string, number>();
  const idsPerChange = new Map<string, Set<string>>();
  const requests = new Set(expected.map((e) => e.requestId));
  for (const r of receiver.received) {
    if (r.status < 200 || r.status >= 300) continue;
    const event = JSON.parse(r.body) as { type: string; request_id?: string };
    if (!event.request_id || !requests.has(event.request_id)) continue;
    const change = `${event.request_id} ${event.type}`;
    if (!idsPerChange.has(change)) idsPerChange.set(change, new Set());
    idsPerChange.get(change)!.add(r.id);
    if (!firstArrival.has(change)) firstArrival.set(change, r.at);
  }
  const wanted = new Set(expected.map((e) => `${e.requestId} ${e.type}`));
  let lost = 0;
  let outOfOrder = 0;
  for (const change of wanted) {
    if (!idsPerChange.has(change)) lost++;
    const [requestId, type] = change.split(' ');
    const created = firstArrival.get(`${requestId} mpa.created`);
    if (type !== 'mpa.created' && created !== undefined && (firstArrival.get(change) ?? Infinity) < created) outOfOrder++;
  }
  const duplicated = [...idsPerChange.values()].filter((ids) => ids.size > 1).length;
  const unexpected = [...idsPerChange.keys()].filter((c) => !wanted.has(c)).length;
  return { expected: wanted.size, seen: idsPerChange.size - unexpected, lost, duplicated: duplicated + unexpected, outOfOrder };
}

export function summary(name: string, t: EventTally): string {
  return `${name}: events expected ${t.expected}, seen ${t.seen}, lost ${t.lost}, duplicated ${t.duplicated}, out of order ${t.outOfOrder}`;
}

/** Waits for every expected webhook event, then asserts that none was lost, duplicated or out of order. */
export async function assertDelivered(
  receiver: Receiver,
  name: string,
  expected: Array<{ requestId: string; type: string }>,
  timeoutMs = 60_000,
): Promise<void> {
  await waitFor(() => tallyEvents(receiver, expected).lost === 0, `${name}: every webhook event`, timeoutMs).catch(() => {});
  const tally = tallyEvents(receiver, expected);
  console.log(summary(name, tally));
  assert.deepEqual(
    { lost: tally.lost, duplicated: tally.duplicated, outOfOrder: tally.outOfOrder },
    { lost: 0, duplicated: 0, outOfOrder: 0 },
    summary(name, tally),
  );
}

export interface RoundResult {
  requestIds: string[];
  /** The state changes that must each produce exactly one webhook event. */
  expectedEvents: Array<{ requestId: string; type: string }>;
}

/** The decisions storage holds for a request: fingerprint to decision. */
export type StoredDecisions = (requestId: string) => Promise<Map<string, string>>;

/** The decisions the audit log (GET /v1/audit) records for a request, through `api`. */
export const auditLogDecisions =
  (api: Api): StoredDecisions =>
  async (id) => {
    const res = await api.get(`/v1/audit?request_id=${id}&type=mpa.decision&limit=100`);
    return new Map<string, string>(
      res.body.data.map((e: { data: { fingerprint: string; decision: string } }) => [e.data.fingerprint, e.data.decision]),
    );
  };

/**
 * Creates `count` requests (required 3 of the approvers' groups) and has every device answer each
 * at once, through random instances; every `denyEvery`-th request also gets one denial. Checks
 * every answer against storage and every outcome against the rules, and returns what the webhook
 * receiver should see.
 */
export async function playRound(
  apis: () => Api[],
  serverId: string,
  approvers: Approvers,
  stored: StoredDecisions,
  count: number,
  options: { denyEvery?: number; label: string; during?: (i: number) => Promise<void> },
): Promise<RoundResult> {
  const result: RoundResult = { requestIds: [], expectedEvents: [] };
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const body = { required: 3, groups: approvers.groups, action: { type: 'fault_test', description: `${options.label} #${i}` } };
      const created = await createRequest(apis, body, `${options.label}-${i}`);
      const id = created.request_id;
      result.requestIds.push(id);
      const denier = options.denyEvery && i % options.denyEvery === 0 ? approvers.devices[i % approvers.devices.length] : undefined;
      const outcomes = await Promise.all(
        approvers.devices.map(async (d) => {
          if (options.during && d === approvers.devices[0]) await options.during(i);
          return [d, await decide(apis, serverId, id, digestOf(created), d, d === denier ? 'deny' : 'approve')] as const;
        }),
      );
      const decisions = await stored(id);
      for (const [d, outcome] of outcomes) {
        if (outcome === 'recorded' && !decisions.has(d.fingerprint)) throw new Error(`${id}: an accepted decision is missing from storage`);
        if (outcome === 'too_late' && decisions.has(d.fingerprint)) throw new Error(`${id}: a refused decision is in storage`);
      }
      const final = await apis()[0]!.served('GET', `/v1/mpa/requests/${id}`);
      if (final.status !== 200) throw new Error(`${id}: reading the request answered ${final.status}: ${JSON.stringify(final.body)}`);
      const status: string = final.body.status;
      const denied = [...decisions.values()].includes('deny');
      if (status !== (denied ? 'rejected' : 'approved'))
        throw new Error(`${id}: status ${status} but storage holds ${denied ? 'a' : 'no'} denial`);
      if (status === 'approved' && final.body.groups_satisfied.length !== 3)
        throw new Error(`${id}: approved with ${final.body.groups_satisfied}`);
      result.expectedEvents.push({ requestId: id, type: 'mpa.created' }, { requestId: id, type: `mpa.${status}` });
    }),
  );
  return result;
}

export interface Listener {
  approver: { fingerprint: string; device_public_key: string };
  output(): string;
  stop(): Promise<void>;
}

/** A real `sigil-device listen` process, paired through the cluster and connected to instance i. */
export async function startListener(cluster: Cluster, i: number): Promise<Listener> {
  const home = mkdtempSync(join(tmpdir(), 'sigil-listener-'));
  const api = cluster.api(0);
  const { body: pairing } = await api.post('/v1/pairings', { name: 'listener' });
  const paired = await runCli(DEVICE_CLI, [
    'pair',
    '--server',
    cluster.url(i),
    '--code',
    pairing.code,
    '--name',
    'listener',
    '--yes',
    '--home',
    home,
  ]);
  if (paired.code !== 0) throw new Error(`pairing the listener failed: ${paired.stderr}`);
  const { body: done } = await api.get(`/v1/pairings/${pairing.pairing_id}`);
  const child = spawnCli(DEVICE_CLI, ['listen', '--server', cluster.url(i), '--home', home]);
  await child.waitFor('Connected');
  return {
    approver: { fingerprint: done.fingerprint, device_public_key: done.device_public_key },
    output: () => child.stdout(),
    stop: async () => {
      await child.stop();
      rmSync(home, { recursive: true, force: true });
    },
  };
}
