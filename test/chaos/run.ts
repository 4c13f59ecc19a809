// The chaos run: several `sigil serve` instances on one PostgreSQL of the run's own, under a
// seeded workload of racing decisions, cancels, decisions at the expiry and retried creations,
// while instances are killed (SIGKILL) and PostgreSQL restarts, with a webhook receiver that
// sometimes refuses. At the end every invariant of docs/reliability.md is checked.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { actionDigest } from '@sigilauth/protocol';
import { pairApprovers, POSTGRES_FAULT_ENV } from '../faults/harness.js';
import { TestDevice } from '../support/device-keys.js';
import { Api, pairDevice } from '../support/api.js';
import { PrivatePostgres } from '../support/private-postgres.js';
import { freePort, SIGIL_CLI } from '../support/processes.js';
import { Receiver } from '../support/webhook-receiver.js';
import { call, untilAnswered } from './client.js';
import { ChaosInstances } from './cluster.js';
import {
  checkInvariants,
  TERMINAL,
  type CancelFact,
  type CreationFact,
  type DecisionFact,
  type Facts,
  type RevocationFact,
  type StoredDecision,
  type StoredRequest,
  type WebhookFact,
} from './invariants.js';
import { Dice } from '../support/prng.js';

export interface ChaosOptions {
  instances: number;
  durationSeconds: number;
  seed: number;
  /** Seconds between kills of a random instance: a range. */
  killEverySeconds: [number, number];
  /** Seconds between PostgreSQL restarts: a range. */
  restartEverySeconds: [number, number];
  log: (line: string) => void;
}

export interface ChaosFigures {
  seed: number;
  instances: number;
  seconds: number;
  requests: number;
  creations: number;
  duplicateCreations: number;
  decisions: number;
  decisionsAccepted: number;
  decisionsRefused: number;
  cancels: number;
  lateDecisions: number;
  revocations: number;
  decisionsRefusedAsRevoked: number;
  /** Rounds of a second webhook endpoint created, changed, its secret rotated, and deleted. */
  endpointRounds: number;
  /** Transactions run again after PostgreSQL aborted them (deadlocks, serialization failures), on the instances up at the end. */
  conflictRetries: number;
  kills: number;
  databaseRestarts: number;
  webhookEvents: number;
  webhookRefusals: number;
  outcomes: Record<string, number>;
  violations: number;
}

export interface ChaosReport {
  figures: ChaosFigures;
  violations: string[];
}

const EXPIRES_IN_SECONDS = 60; // the shortest a request may live
const REVOCATION_EVERY_SECONDS = 8;
const API_ERROR = (a: { status: number; body: any } | null) => (a ? `${a.status} ${JSON.stringify(a.body).slice(0, 300)}` : 'no answer');

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const root = new Dice(o.seed);
  const [faultDice, loadDice, hookDice, netDice] = [root.fork(), root.fork(), root.fork(), root.fork()];
  const facts: Omit<Facts, 'stored' | 'storedDecisions' | 'finalViews' | 'webhooks'> = {
    creations: [],
    decisions: [],
    cancels: [],
    revocations: [],
    observations: [],
  };
  const figures = { kills: 0, databaseRestarts: 0, duplicateCreations: 0, lateDecisions: 0, webhookRefusals: 0, endpointRounds: 0 };
  const dataDir = mkdtempSync(join(tmpdir(), 'sigil-chaos-'));
  const postgres = await PrivatePostgres.start();
  let refusing = true;
  const receiver = await Receiver.start(() => {
    if (refusing && hookDice.chance(0.2)) {
      figures.webhookRefusals++;
      return { status: 503 };
    }
    return { status: 204 };
  });
  // The endpoint an operator keeps changing has a receiver of its own: the one above counts events.
  const churnReceiver = await Receiver.start();
  const store = { kind: 'postgres' as const, dataDir, databaseUrl: postgres.url, dispose: async () => {} };
  const env = { ...POSTGRES_FAULT_ENV, SIGIL_MAX_PENDING_PER_DEVICE: '100000' };
  const cluster = new ChaosInstances(store, env, await Promise.all(Array.from({ length: o.instances }, () => freePort())));
  const violations: string[] = [];
  try {
    await cluster.start(0);
    await Promise.all(cluster.ports.slice(1).map((_, i) => cluster.start(i + 1)));
    const api = new Api(cluster.url(0), cluster.apiKey);
    const hook = await api.post('/v1/webhooks', { url: receiver.url });
    if (hook.status !== 201) throw new Error(`webhook registration failed: ${JSON.stringify(hook.body)}`);
    const serverId: string = (await api.get('/v1/info')).body.server_id;
    const approvers = await pairApprovers(api, 3, 2);
    // Devices to revoke while they decide, one every few seconds, paired before the faults begin.
    const standby: TestDevice[] = [];
    for (let i = 0; i < Math.ceil(o.durationSeconds / REVOCATION_EVERY_SECONDS); i++) {
      const device = new TestDevice(`standby-${i}`);
      await pairDevice(api, serverId, device);
      standby.push(device);
    }
    o.log(`chaos: seed ${o.seed}, ${o.instances} instances on PostgreSQL at 127.0.0.1:${postgres.port}, ${o.durationSeconds} s`);

    const urls = () => cluster.liveUrls();
    const loadStarted = Date.now();
    const loadEndsAt = loadStarted + o.durationSeconds * 1000;
    // Requests made to meet their expiry must expire before the run ends.
    const expiryCreationsEndAt = loadEndsAt - (EXPIRES_IN_SECONDS + 5) * 1000;
    const requestIds = new Set<string>();
    const observe = (requestId: string, status: string | undefined, a: { sentAt: number; receivedAt: number }) => {
      if (typeof status === 'string') facts.observations.push({ requestId, status, sentAt: a.sentAt, receivedAt: a.receivedAt });
    };

    /** Creates a request by one Idempotency-Key, sometimes sent twice at once to two instances; `extra` adds a group of one. */
    const create = async (
      n: number | string,
      description: string,
      dice: Dice,
      extra?: TestDevice,
    ): Promise<{ request_id: string; action: never; expires_at: string } | null> => {
      const key = `chaos-${o.seed}-${n}`;
      const body = {
        required: 2,
        groups: extra ? [...approvers.groups, { name: 'Standby', approvers: [extra.approver] }] : approvers.groups,
        action: { type: 'chaos', description },
        expires_in_seconds: EXPIRES_IN_SECONDS,
      };
      const fact: CreationFact = { key, description, ids: [] };
      facts.creations.push(fact);
      const copies = dice.chance(0.4) ? 2 : 1;
      if (copies === 2) figures.duplicateCreations++;
      const answers = await Promise.all(
        Array.from({ length: copies }, () =>
          untilAnswered(netDice, urls, 'POST', '/v1/mpa/requests', { apiKey: cluster.apiKey, body, headers: { 'idempotency-key': key } }),
        ),
      );
      let created = null;
      for (const { answer } of answers) {
        if (answer?.status === 201) {
          fact.ids.push(answer.body.request_id);
          created = answer.body;
          observe(answer.body.request_id, answer.body.status, answer);
        } else violations.push(`creation ${key}: ${API_ERROR(answer)}`);
      }
      if (created) requestIds.add(created.request_id);
      return created;
    };

    const decide = async (created: { request_id: string; action: never }, device: TestDevice, decision: 'approve' | 'deny') => {
      const signed = device.decisionBody(serverId, created.request_id, actionDigest(created.action), decision);
      const sentAt = Date.now();
      const { answer, lost } = await untilAnswered(netDice, urls, 'POST', `/v1/mpa/requests/${created.request_id}/decisions`, {
        body: signed,
      });
      const fact: DecisionFact = { requestId: created.request_id, fingerprint: device.fingerprint, decision, sentAt, outcome: 'other' };
      if (!answer) fact.outcome = 'no_answer';
      else if (answer.status === 200) {
        fact.outcome = 'accepted';
        observe(created.request_id, answer.body.status, answer);
      } else if (answer.status === 409 && answer.body?.error?.code === 'request_completed') {
        fact.outcome = lost ? 'unknown' : 'refused';
        fact.refusedStatus = answer.body.error.details?.status;
      } else if (answer.status === 409 && answer.body?.error?.code === 'already_decided' && lost) fact.outcome = 'recorded_earlier';
      else if (answer.status === 403 && answer.body?.error?.code === 'device_revoked') fact.outcome = 'revoked';
      else fact.detail = API_ERROR(answer);
      facts.decisions.push(fact);
    };

    const cancel = async (created: { request_id: string }) => {
      const { answer, lost } = await untilAnswered(netDice, urls, 'POST', `/v1/mpa/requests/${created.request_id}/cancel`, {
        apiKey: cluster.apiKey,
        body: {},
      });
      const fact: CancelFact = { requestId: created.request_id, outcome: 'other' };
      if (!answer) fact.outcome = 'no_answer';
      else if (answer.status === 200) {
        fact.outcome = 'accepted';
        observe(created.request_id, answer.body.status, answer);
      } else if (answer.status === 409 && answer.body?.error?.code === 'request_completed') {
        fact.outcome = lost ? 'unknown' : 'refused';
        fact.refusedStatus = answer.body.error.details?.status;
      } else fact.detail = API_ERROR(answer);
      facts.cancels.push(fact);
    };

    const revoke = async (device: TestDevice) => {
      const { answer } = await untilAnswered(netDice, urls, 'DELETE', `/v1/devices/${device.fingerprint}`, { apiKey: cluster.apiKey });
      const fact: RevocationFact = { fingerprint: device.fingerprint, outcome: 'other', answeredAt: null };
      if (!answer) fact.outcome = 'no_answer';
      else if (answer.status === 200) Object.assign(fact, { outcome: 'accepted', answeredAt: answer.receivedAt });
      else fact.detail = API_ERROR(answer);
      facts.revocations.push(fact);
      return fact.outcome === 'accepted';
    };

    const look = async (requestId: string) => {
      const answer = await call(netDice.pick(urls()), 'GET', `/v1/mpa/requests/${requestId}`, { apiKey: cluster.apiKey });
      if (answer?.status === 200) observe(requestId, answer.body.status, answer);
    };

    /** Every approver decides (mostly approve), sometimes with a cancel, all within milliseconds, through random instances. */
    const race = async (created: { request_id: string; action: never }, dice: Dice) => {
      const moves = approvers.devices.map((d) => {
        const decision = dice.chance(0.15) ? ('deny' as const) : ('approve' as const);
        const delay = dice.int(0, 3);
        return sleep(delay).then(() => decide(created, d, decision));
      });
      if (dice.chance(0.2)) moves.push(sleep(dice.int(0, 3)).then(() => cancel(created)));
      await Promise.all(moves);
      await Promise.all([look(created.request_id), look(created.request_id)]);
    };

    /**
     * A request met at its expiry: one group approves early; at the expiry (a few hundred ms
     * either side) another group's approval, a denial and maybe a cancel arrive. Some requests
     * are approved long before and only receive decisions after the expiry.
     */
    const atExpiry = async (created: { request_id: string; action: never; expires_at: string }, dice: Dice) => {
      const [g0, g1, g2] = [0, 1, 2].map((g) => approvers.devices.filter((d) => approvers.groupOf.get(d) === g));
      const early = dice.chance(0.3);
      await decide(created, g0![0]!, 'approve');
      if (early) await decide(created, g1![0]!, 'approve');
      const expiresAt = Date.parse(created.expires_at);
      await sleep(Math.max(0, expiresAt - Date.now() + dice.int(-400, 400)));
      figures.lateDecisions++;
      const moves = [
        decide(created, g1![1]!, 'approve'),
        sleep(dice.int(0, 3)).then(() => decide(created, g2![0]!, dice.chance(0.5) ? 'deny' : 'approve')),
      ];
      if (dice.chance(0.3)) moves.push(sleep(dice.int(0, 3)).then(() => cancel(created)));
      await Promise.all(moves);
      await sleep(1500); // after the expiry for sure: every answer is the final status
      await decide(created, g2![1]!, 'approve');
      await look(created.request_id);
    };

    /**
     * A device revoked while it approves: its approval and its revocation are sent within 3 ms of
     * each other through random instances; once the revocation is answered it approves a second
     * request naming it, which must be refused. Other approvers then end both requests.
     */
    const revokeWhileDeciding = async (device: TestDevice, round: number, dice: Dice) => {
      const [first, second] = [
        await create(`revocation-${round}-a`, `revocation ${round} a`, dice, device),
        await create(`revocation-${round}-b`, `revocation ${round} b`, dice, device),
      ];
      if (!first || !second) return;
      const [g0, g1, g2] = [0, 1, 2].map((g) => approvers.devices.filter((d) => approvers.groupOf.get(d) === g));
      const [, revoked] = await Promise.all([
        sleep(dice.int(0, 3)).then(() => decide(first, device, 'approve')),
        sleep(dice.int(0, 3)).then(() => revoke(device)),
        sleep(dice.int(0, 3)).then(() => decide(first, g0![0]!, 'approve')),
      ]);
      if (revoked) await decide(second, device, 'approve');
      await Promise.all([decide(first, g1![0]!, 'approve'), decide(second, g1![1]!, 'approve'), decide(second, g2![0]!, 'approve')]);
      await Promise.all([look(first.request_id), look(second.request_id)]);
    };

    /**
     * An operator's changes to a second endpoint while deliveries are made to it: created, its
     * events changed, its secret rotated, then deleted (every endpoint of its receiver, so one
     * created twice by a resent call goes too). Every call must end 2xx, or 404 for a deletion
     * resent after its answer was lost.
     */
    const endpointChurn = async (dice: Dice) => {
      const expect = (what: string, a: { answer: { status: number; body: any } | null; lost: boolean }, ok: number) => {
        const fine = a.answer?.status === ok || (what === 'deletion' && a.lost && a.answer?.status === 404);
        if (!fine) violations.push(`webhook endpoint ${what}: ${API_ERROR(a.answer)}`);
        return fine;
      };
      const apiKey = cluster.apiKey;
      while (Date.now() < loadEndsAt - 5000) {
        const created = await untilAnswered(netDice, urls, 'POST', '/v1/webhooks', { apiKey, body: { url: churnReceiver.url } });
        if (expect('creation', created, 201)) {
          const id: string = created.answer!.body.id;
          await sleep(dice.int(100, 1000));
          expect(
            'change',
            await untilAnswered(netDice, urls, 'PATCH', `/v1/webhooks/${id}`, {
              apiKey,
              body: { events: ['mpa.approved', 'mpa.rejected'] },
            }),
            200,
          );
          expect(
            'secret rotation',
            await untilAnswered(netDice, urls, 'POST', `/v1/webhooks/${id}/rotate-secret`, { apiKey, body: {} }),
            200,
          );
          await sleep(dice.int(100, 1000));
        }
        const listed = await untilAnswered(netDice, urls, 'GET', '/v1/webhooks', { apiKey });
        if (!expect('listing', listed, 200)) continue;
        for (const endpoint of listed.answer!.body.data as Array<{ id: string; url: string }>) {
          if (endpoint.url === churnReceiver.url)
            expect('deletion', await untilAnswered(netDice, urls, 'DELETE', `/v1/webhooks/${endpoint.id}`, { apiKey }), 204);
        }
        figures.endpointRounds++;
      }
    };

    const revocations = async (dice: Dice) => {
      for (const [round, device] of standby.entries()) {
        if (Date.now() >= loadEndsAt) break;
        await sleep(dice.int(0, REVOCATION_EVERY_SECONDS * 1000));
        await revokeWhileDeciding(device, round, dice);
      }
    };

    let n = 0;
    const pending: Array<Promise<void>> = [];
    const worker = async (dice: Dice) => {
      while (Date.now() < loadEndsAt) {
        const i = n++;
        if (Date.now() < expiryCreationsEndAt && dice.chance(0.25)) {
          const created = await create(i, `expiry ${i}`, dice);
          if (created) pending.push(atExpiry(created, dice.fork()));
        } else {
          const created = await create(i, `race ${i}`, dice);
          if (created) await race(created, dice);
        }
      }
    };

    const faults = async () => {
      let nextKill = Date.now() + faultDice.int(o.killEverySeconds[0] * 1000, o.killEverySeconds[1] * 1000);
      let nextRestart = Date.now() + faultDice.int(o.restartEverySeconds[0] * 1000, o.restartEverySeconds[1] * 1000);
      while (Date.now() < loadEndsAt - 5000) {
        await sleep(Math.max(0, Math.min(nextKill, nextRestart) - Date.now()));
        if (Date.now() >= loadEndsAt - 5000) break;
        if (Date.now() >= nextKill) {
          const i = faultDice.int(0, o.instances - 1);
          const downFor = faultDice.int(500, 3000);
          await cluster.kill(i);
          figures.kills++;
          o.log(`chaos: ${((Date.now() - started) / 1000).toFixed(1)} s: killed instance ${i} (back in ${downFor} ms)`);
          await sleep(downFor);
          await cluster.start(i);
          nextKill = Date.now() + faultDice.int(o.killEverySeconds[0] * 1000, o.killEverySeconds[1] * 1000);
        } else {
          o.log(`chaos: ${((Date.now() - started) / 1000).toFixed(1)} s: restarting PostgreSQL`);
          await postgres.restart();
          figures.databaseRestarts++;
          nextRestart = Date.now() + faultDice.int(o.restartEverySeconds[0] * 1000, o.restartEverySeconds[1] * 1000);
        }
      }
    };

    await Promise.all([
      faults(),
      revocations(loadDice.fork()),
      endpointChurn(loadDice.fork()),
      ...Array.from({ length: 4 }, () => worker(loadDice.fork())),
    ]);
    await Promise.all(pending);
    o.log(`chaos: ${((Date.now() - started) / 1000).toFixed(1)} s: load over; checking`);
    for (let i = 0; i < o.instances; i++) if (!cluster.isUp(i)) await cluster.start(i);

    // Every request ends (the last ones time out) and every instance agrees.
    const ids = [...requestIds];
    const finalViews: Array<Map<string, string>> = [];
    for (let i = 0; i < o.instances; i++) {
      const views = new Map<string, string>();
      const deadline = Date.now() + 180_000;
      for (const id of ids) {
        for (;;) {
          const a = await call(cluster.url(i), 'GET', `/v1/mpa/requests/${id}`, { apiKey: cluster.apiKey });
          if (a?.status === 200) observe(id, a.body.status, a);
          if ((a?.status === 200 && TERMINAL.has(a.body.status)) || Date.now() > deadline) {
            views.set(id, a?.status === 200 ? a.body.status : `answer ${a?.status}`);
            break;
          }
          await sleep(500);
        }
      }
      finalViews.push(views);
    }

    // Every terminal event arrives (the receiver stops refusing so the wait is short).
    refusing = false;
    // At least once: a redelivery of one webhook-id (after a crash cut an attempt off) is the same event.
    const webhooks = (): WebhookFact[] => {
      const byId = new Map<string, WebhookFact>();
      for (const r of receiver.received) {
        if (r.status < 200 || r.status >= 300 || byId.has(r.id)) continue;
        const event = JSON.parse(r.body) as { type: string; request_id?: string };
        if (event.request_id && requestIds.has(event.request_id))
          byId.set(r.id, { webhookId: r.id, type: event.type, requestId: event.request_id });
      }
      return [...byId.values()];
    };
    const wanted = ids.length * 2;
    const hookDeadline = Date.now() + 180_000;
    while (
      new Set(webhooks().map((w) => `${w.requestId} ${w.type === 'mpa.created' ? 'c' : 't'}`)).size < wanted &&
      Date.now() < hookDeadline
    )
      await sleep(500);
    await sleep(2000); // a duplicate would arrive now

    const db = new pg.Client({ connectionString: postgres.url });
    await db.connect();
    let stored: StoredRequest[];
    let storedDecisions: StoredDecision[];
    try {
      stored = (
        await db.query(
          `SELECT id, status, required, groups, groups_satisfied, expires_at, completed_at, action, idempotency_key FROM mpa_requests WHERE action->>'type' = 'chaos'`,
        )
      ).rows.map((r) => ({
        id: r.id,
        status: r.status,
        required: r.required,
        groupNames: (r.groups as Array<{ name: string }>).map((g) => g.name),
        groupsSatisfied: r.groups_satisfied as string[],
        expiresAt: new Date(r.expires_at).getTime(),
        completedAt: r.completed_at ? new Date(r.completed_at).getTime() : null,
        description: r.action.description,
        idempotencyKey: r.idempotency_key,
      }));
      storedDecisions = (
        await db.query(
          `SELECT d.request_id, d.fingerprint, d.group_index, d.decision, d.decided_at, d.payload FROM mpa_decisions d JOIN mpa_requests r ON r.id = d.request_id WHERE r.action->>'type' = 'chaos'`,
        )
      ).rows.map((d) => ({
        requestId: d.request_id,
        fingerprint: d.fingerprint,
        groupIndex: d.group_index,
        decision: d.decision,
        decidedAt: new Date(d.decided_at).getTime(),
        issuedAt: Number(d.payload.issued_at),
      }));
    } finally {
      await db.end();
    }
    const all: Facts = { ...facts, stored, storedDecisions, finalViews, webhooks: webhooks() };
    violations.push(...checkInvariants(all));
    for (const id of ids) if (!stored.some((r) => r.id === id)) violations.push(`${id}: answered 201 but not stored`);

    const audit = await promisify(execFile)(process.execPath, [SIGIL_CLI, 'audit', 'verify', '--data-dir', dataDir], {
      env: { ...process.env, DATABASE_URL: postgres.url },
      timeout: 120_000,
    }).then(
      (r) => ({ ok: true, out: r.stdout }),
      (err: { stdout?: string; stderr?: string; message: string }) => ({
        ok: false,
        out: `${err.stdout ?? ''}${err.stderr ?? err.message}`,
      }),
    );
    if (!audit.ok || !/OK/.test(audit.out)) violations.push(`sigil audit verify failed:\n${audit.out}`);
    else o.log(`chaos: ${audit.out.trim()}`);

    let conflictRetries = 0;
    for (const url of cluster.liveUrls()) {
      const metrics = await call(url, 'GET', '/metrics');
      for (const [, n] of String(metrics?.body ?? '').matchAll(/^sigil_db_conflict_retries_total\{[^}]*\} (\d+)/gm))
        conflictRetries += Number(n);
    }
    violations.push(...cluster.unexpectedExits);
    const outcomes: Record<string, number> = {};
    for (const r of stored) outcomes[r.status] = (outcomes[r.status] ?? 0) + 1;
    return {
      violations,
      figures: {
        seed: o.seed,
        instances: o.instances,
        seconds: Math.round((Date.now() - started) / 1000),
        requests: stored.length,
        creations: facts.creations.length,
        duplicateCreations: figures.duplicateCreations,
        decisions: facts.decisions.length,
        decisionsAccepted: facts.decisions.filter((d) => d.outcome === 'accepted' || d.outcome === 'recorded_earlier').length,
        decisionsRefused: facts.decisions.filter((d) => d.outcome === 'refused').length,
        cancels: facts.cancels.length,
        lateDecisions: figures.lateDecisions,
        revocations: facts.revocations.length,
        decisionsRefusedAsRevoked: facts.decisions.filter((d) => d.outcome === 'revoked').length,
        endpointRounds: figures.endpointRounds,
        conflictRetries,
        kills: figures.kills,
        databaseRestarts: figures.databaseRestarts,
        webhookEvents: all.webhooks.length,
        webhookRefusals: figures.webhookRefusals,
        outcomes,
        violations: violations.length,
      },
    };
  } finally {
    await cluster.stop();
    await receiver.close();
    await churnReceiver.close();
    postgres.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
