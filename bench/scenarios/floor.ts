/**
 * The floor under decision throughput, measured on this machine in this run:
 *  - the raw P-256 verify rate of node:crypto over a decision-shaped signing input, on one thread
 *    (the server runs on one event loop);
 *  - the raw rate of the SQL transaction the server runs for one decision (a replica of
 *    mpa/requests.ts recordDecision as of this benchmark: lock the request; read its decisions and
 *    the device's pairing; insert the decision and its audit entry; update the quorum state, and on
 *    the completing decision the outbox event, webhook fan-out and audit entry; NOTIFY), issued
 *    through the same storage seam (PGlite in this process, or a pg pool of the server's size)
 *    without HTTP. Keep it in step with recordDecision: it is the floor only while it is the same SQL.
 */
import { randomBytes, verify, type KeyObject } from 'node:crypto';
import {
  actionDigest,
  decodePublicKey,
  DomainTag,
  signingInput,
  signPayload,
  verifyPayload,
  type DecisionPayload,
} from '@sigilauth/protocol';
import type { Database, Queryable } from '../../packages/server/src/storage/database.js';
import { createRequest, hashBody } from '../../packages/server/src/mpa/requests.js';
import { validateMpaRequest } from '@sigilauth/protocol';
import { generateDevices, requestBody, privateKeyOf } from '../lib/devices.js';
import { figure, seeded, shuffle, summarise, type Figure, type LatencySummary } from '../lib/stats.js';
import { createStore, insertDevices, openStore, type StoreKind } from '../lib/store.js';
import { createTenant } from '../../packages/server/src/tenants/tenants.js';

export interface VerifyFloor {
  /** verify() with a parsed KeyObject over prepared bytes: the cryptographic floor. */
  rawPerSec: Figure;
  /** What the server does per decision: JCS, decode the compressed key, verify. */
  fullPerSec: Figure;
  payloadBytes: number;
}

export function measureVerifyFloor(runs: number, durationMs: number): VerifyFloor {
  const [device] = generateDevices(1, 'floor');
  const payload: DecisionPayload = {
    purpose: 'mpa-decision',
    server_id: randomBytes(32).toString('hex'),
    request_id: '7c3e5f9a-1b2c-4d5e-8f90-a1b2c3d4e5f6',
    fingerprint: device!.fingerprint,
    decision: 'approve',
    action_digest: randomBytes(32).toString('hex'),
    issued_at: Date.now(),
  };
  const signature = signPayload(DomainTag.mpaDecision, payload, privateKeyOf(device!));
  const input = signingInput(DomainTag.mpaDecision, payload);
  const sig = Buffer.from(signature, 'base64');
  const key: KeyObject = decodePublicKey(device!.publicKey);
  const loop = (fn: () => boolean) => {
    // warm up, then count verifications in the window
    for (let i = 0; i < 200; i++) if (!fn()) throw new Error('verify failed');
    const t0 = performance.now();
    let n = 0;
    while (performance.now() - t0 < durationMs) {
      for (let i = 0; i < 50; i++) fn();
      n += 50;
    }
    return (n * 1000) / (performance.now() - t0);
  };
  const raw: number[] = [];
  const full: number[] = [];
  for (let r = 0; r < runs; r++) {
    raw.push(loop(() => verify('sha256', input, { key, dsaEncoding: 'ieee-p1363' }, sig)));
    full.push(loop(() => verifyPayload(DomainTag.mpaDecision, payload, signature, device!.publicKey)));
  }
  return { rawPerSec: figure(raw, '/s'), fullPerSec: figure(full, '/s'), payloadBytes: input.length };
}

interface FloorTask {
  requestId: string;
  tenantId: string;
  fingerprint: string;
  groupIndex: number;
  groupName: string;
  /** the decision that completes the request (required-th distinct group) */
  completes: boolean;
  payload: DecisionPayload;
  signature: string;
}

const COLUMNS = 'id, tenant_id, required, groups, action, action_digest, status, groups_satisfied, expires_at, created_at, completed_at, body_hash';
const DELIVERY_CHANNEL = 'sigil_webhook_deliveries';

/** The statements recordDecision issues for one accepted decision, in order (see the file comment). */
async function decisionTransaction(tx: Queryable, t: FloorTask, now: number, withDeliveries: boolean): Promise<void> {
  const [row] = await tx.query<{ id: string; tenant_id: string; groups_satisfied: string[] }>(
    `SELECT ${COLUMNS} FROM mpa_requests WHERE id = $1 AND ($2::uuid IS NULL OR tenant_id = $2) FOR UPDATE`,
    [t.requestId, null],
  );
  if (!row) throw new Error('floor: request missing');
  // the recorded decisions and the deciding device's pairing, read after the lock in one statement
  await tx.query(
    `(SELECT 'decision' AS source, seq, group_index, decision, decided_at, NULL::timestamptz AS revoked_at FROM mpa_decisions WHERE request_id = $1)
     UNION ALL
     (SELECT 'device', NULL, NULL, NULL, NULL, revoked_at FROM devices WHERE tenant_id = $2 AND fingerprint = $3)
     ORDER BY source DESC, seq`,
    [t.requestId, row.tenant_id, t.fingerprint],
  );
  const [inserted] = await tx.query(
    `INSERT INTO mpa_decisions (request_id, fingerprint, group_index, decision, payload, signature, decided_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (request_id, fingerprint) DO NOTHING RETURNING decided_at`,
    [t.requestId, t.fingerprint, t.groupIndex, 'approve', JSON.stringify(t.payload), t.signature, new Date(now)],
  );
  if (!inserted) throw new Error('floor: decision already recorded');
  await tx.query('INSERT INTO audit_entries (tenant_id, type, request_id, data) VALUES ($1, $2, $3, $4)', [
    row.tenant_id,
    'mpa.decision',
    t.requestId,
    JSON.stringify({ request_id: t.requestId, fingerprint: t.fingerprint, group: t.groupName, decision: 'approve', payload: t.payload, signature: t.signature }),
  ]);
  const satisfied = [...row.groups_satisfied, t.groupName];
  await tx.query('UPDATE mpa_requests SET status = $2, groups_satisfied = $3, completed_at = $4 WHERE id = $1', [
    t.requestId,
    t.completes ? 'approved' : 'pending',
    JSON.stringify(satisfied),
    t.completes ? new Date(now) : null,
  ]);
  if (t.completes) {
    const eventId = `evt_${randomBytes(16).toString('hex')}`;
    await tx.query('INSERT INTO events (id, tenant_id, type, request_id, payload) VALUES ($1, $2, $3, $4, $5)', [
      eventId,
      row.tenant_id,
      'mpa.approved',
      t.requestId,
      JSON.stringify({ type: 'mpa.approved', request_id: t.requestId, status: 'approved', groups_satisfied: satisfied, groups_required: 3, groups_total: 5, timestamp: new Date(now).toISOString() }),
    ]);
    if (withDeliveries) {
      await tx.query(
        `WITH inserted AS (
           INSERT INTO webhook_deliveries (id, endpoint_id, tenant_id, event_id, event_type, request_id, next_attempt_at, created_at)
           SELECT gen_random_uuid(), e.id, e.tenant_id, $2, $3, $4, now(), now()
             FROM webhook_endpoints e
            WHERE e.tenant_id = $1 AND e.enabled AND (e.events IS NULL OR $3 = ANY (e.events))
            ORDER BY e.id
           RETURNING 1
         )
         SELECT pg_notify($5, '') FROM (SELECT count(*) AS n FROM inserted) c WHERE c.n > 0`,
        [row.tenant_id, eventId, 'mpa.approved', t.requestId, DELIVERY_CHANNEL],
      );
    }
    await tx.query('INSERT INTO audit_entries (tenant_id, type, request_id, data) VALUES ($1, $2, $3, $4)', [
      row.tenant_id,
      'mpa.completed',
      t.requestId,
      JSON.stringify({ request_id: t.requestId, status: 'approved', groups_satisfied: satisfied }),
    ]);
  }
  await tx.query('SELECT pg_notify($1, $2)', ['sigil_requests', JSON.stringify([row.tenant_id, t.requestId])]);
}

export interface SqlFloor {
  store: StoreKind;
  perSec: Figure;
  latency: LatencySummary[];
  statementsPerDecision: number;
  concurrency: number;
}

/** Creates `requests` requests (5 groups of 3, 3 required) and decides each with 3 approvals, timed. */
export async function measureSqlFloor(kind: StoreKind, runs: number, requests: number, concurrency: number): Promise<SqlFloor> {
  const store = await createStore(kind);
  // the server's pool size (sigil serve defaults to 10 connections)
  const db: Database = await openStore(store, 10);
  try {
    const tenant = await createTenant(db, 'Floor Corp');
    const pool = generateDevices(60, 'floor');
    await insertDevices(db, tenant.id, pool);
    const [{ exists } = { exists: false }] = await db.query<{ exists: boolean }>(
      "SELECT to_regclass('webhook_deliveries') IS NOT NULL AS exists",
    );
    const random = seeded(7);
    const perSec: number[] = [];
    const latency: LatencySummary[] = [];
    for (let r = 0; r < runs; r++) {
      const tasks: FloorTask[] = [];
      for (let i = 0; i < requests; i++) {
        const body = requestBody(pool, { groups: 5, perGroup: 3, required: 3, random, label: `FLOOR-${r}-${i}` });
        const policy = validateMpaRequest(body);
        const { view } = await createRequest(db, tenant.id, policy, { bodyHash: hashBody(body), now: Date.now() });
        const digest = actionDigest(policy.action);
        const groups = shuffle([0, 1, 2, 3, 4], random).slice(0, 3);
        groups.forEach((g, k) => {
          const a = body.groups[g]!.approvers[Math.floor(random() * 3)]!;
          const payload: DecisionPayload = {
            purpose: 'mpa-decision',
            server_id: 'f'.repeat(64),
            request_id: view.request_id,
            fingerprint: a.fingerprint,
            decision: 'approve',
            action_digest: digest,
            issued_at: Date.now(),
          };
          tasks.push({
            requestId: view.request_id,
            tenantId: tenant.id,
            fingerprint: a.fingerprint,
            groupIndex: g,
            groupName: body.groups[g]!.name,
            completes: k === 2,
            payload,
            signature: randomBytes(64).toString('base64'),
          });
        });
      }
      // The completing decision must come last per request (the replica does not re-run the engine),
      // so interleave requests but keep each request's decisions in order.
      const order = interleave(tasks);
      const lat: number[] = [];
      let next = 0;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < order.length) {
            const task = order[next++]!;
            const s = performance.now();
            await db.transaction((tx) => decisionTransaction(tx, task, Date.now(), exists));
            lat.push(performance.now() - s);
          }
        }),
      );
      const elapsed = performance.now() - t0;
      perSec.push((order.length * 1000) / elapsed);
      latency.push(summarise(lat));
    }
    return { store: kind, perSec: figure(perSec, '/s'), latency, statementsPerDecision: 7, concurrency };
  } finally {
    await db.close();
    await store.dispose();
  }
}

/** Round-robin over requests, each request's tasks in their original order. */
function interleave(tasks: FloorTask[]): FloorTask[] {
  const byRequest = new Map<string, FloorTask[]>();
  for (const t of tasks) {
    const list = byRequest.get(t.requestId) ?? [];
    list.push(t);
    byRequest.set(t.requestId, list);
  }
  const lists = shuffle([...byRequest.values()]);
  const out: FloorTask[] = [];
  for (let k = 0; k < 3; k++) for (const l of lists) if (l[k]) out.push(l[k]!);
  return out;
}
