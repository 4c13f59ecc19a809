import { randomUUID } from 'node:crypto';
import {
  actionDigest,
  type ApprovalGroup,
  type Decision,
  type DeviceRequestView,
  type MpaPolicy,
  type MpaRequestView,
  type MpaStatus,
} from '@sigilauth/protocol';
import { appendAudit } from '../audit/log.js';
import { DEFAULT_MAX_PENDING_PER_DEVICE } from '../config.js';
import { announceRequestChanged } from '../events/bus.js';
import { recordEvent, type EventType } from '../events/outbox.js';
import { ApiError, notFound } from '../http/errors.js';
import type { Database, Queryable } from '../storage/database.js';
import { evaluate, type EngineEvent, type EngineState } from './engine.js';
import { expirySql } from './expiry-rule.js';
import { COLUMNS, deviceView, eventPayload, policyOf, toView, type RequestRow } from './requests.js';

/** Every change of an MPA request's state: creation, decisions, cancellation and expiry, each in one transaction. */

export interface CreateOptions {
  idempotencyKey?: string | undefined;
  /** Hash of the body as sent, so a retried idempotent call can be told from a different one. */
  bodyHash: string;
  now: number;
  /** The most requests of one organisation that may wait for one device at once (default DEFAULT_MAX_PENDING_PER_DEVICE). */
  maxPendingPerDevice?: number;
}

export async function createRequest(
  db: Database,
  tenantId: string,
  policy: MpaPolicy,
  { idempotencyKey, bodyHash, now, maxPendingPerDevice }: CreateOptions,
): Promise<{ view: MpaRequestView; replayed: boolean }> {
  return db.transaction(async (tx) => {
    await checkApproversPaired(tx, tenantId, policy.groups);
    if (idempotencyKey === undefined || !(await idempotencyKeyUsed(tx, tenantId, idempotencyKey))) {
      await checkPendingQuota(tx, tenantId, policy.groups, maxPendingPerDevice ?? DEFAULT_MAX_PENDING_PER_DEVICE, now);
    }
    const id = randomUUID();
    const createdAt = new Date(now);
    const expiresAt = new Date(now + policy.expires_in_seconds * 1000);
    const [inserted] = await tx.query<RequestRow>(
      `INSERT INTO mpa_requests (id, tenant_id, required, groups, action, action_digest, expires_at, created_at, idempotency_key, body_hash)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       ON CONFLICT (tenant_id, idempotency_key) DO NOTHING RETURNING ${COLUMNS}`,
      [
        id,
        tenantId,
        policy.required,
        JSON.stringify(policy.groups),
        JSON.stringify(policy.action),
        actionDigest(policy.action),
        expiresAt,
        createdAt,
        idempotencyKey ?? null,
        bodyHash,
      ],
    );
    if (!inserted) {
      const [existing] = await tx.query<RequestRow>(`SELECT ${COLUMNS} FROM mpa_requests WHERE tenant_id = $1 AND idempotency_key = $2`, [
        tenantId,
        idempotencyKey,
      ]);
      if (!existing) throw new Error('idempotent request vanished');
      if (existing.body_hash !== bodyHash) {
        throw new ApiError('idempotency_conflict', 'Idempotency-Key was already used with a different request body');
      }
      return { view: toView(existing, now), replayed: true };
    }
    const fingerprints: string[] = [];
    const groupIndexes: number[] = [];
    policy.groups.forEach((group, gi) => group.approvers.forEach((a) => (fingerprints.push(a.fingerprint), groupIndexes.push(gi))));
    await tx.query(
      'INSERT INTO mpa_approvers (request_id, fingerprint, group_index, pending) SELECT $1, f, g, true FROM unnest($2::text[], $3::int[]) AS t(f, g)',
      [id, fingerprints, groupIndexes],
    );
    const state: EngineState = { status: 'pending', groupsSatisfied: [], completedAt: null };
    await recordEvent(tx, tenantId, 'mpa.created', { ...eventPayload(inserted, state), expires_at: expiresAt.toISOString() }, id);
    await appendAudit(tx, tenantId, 'mpa.created', auditRequestFields(inserted), id);
    await announceRequestChanged(tx, { tenantId, requestId: id });
    return { view: toView(inserted, now), replayed: false };
  });
}

function auditRequestFields(row: RequestRow): Record<string, unknown> {
  return {
    request_id: row.id,
    required: row.required,
    groups: row.groups.map((g) => ({ name: g.name, approvers: g.approvers.map((a) => a.fingerprint) })),
    action: row.action,
    action_digest: row.action_digest,
    requested_by: row.action.params.requested_by ?? null,
    expires_at: row.expires_at.toISOString(),
  };
}

async function checkApproversPaired(tx: Queryable, tenantId: string, groups: ApprovalGroup[]): Promise<void> {
  const approvers = groups.flatMap((g) => g.approvers);
  // The pairings stay locked until commit, so that requests created at once cannot together
  // exceed a device's pending quota; in a fixed order, so that two creations cannot deadlock.
  const rows = await tx.query<{ fingerprint: string; public_key: string; revoked_at: Date | null }>(
    'SELECT fingerprint, public_key, revoked_at FROM devices WHERE tenant_id = $1 AND fingerprint = ANY($2::text[]) ORDER BY fingerprint FOR NO KEY UPDATE',
    [tenantId, approvers.map((a) => a.fingerprint)],
  );
  const devices = new Map(rows.map((r) => [r.fingerprint, r]));
  for (const { fingerprint, device_public_key } of approvers) {
    const device = devices.get(fingerprint);
    if (!device || device.public_key !== device_public_key) {
      throw new ApiError('invalid_request', `Invalid MPA request: device ${fingerprint} is not paired with this organisation`);
    }
    if (device.revoked_at) throw new ApiError('invalid_request', `Invalid MPA request: device ${fingerprint} has been revoked`);
  }
}

async function idempotencyKeyUsed(tx: Queryable, tenantId: string, key: string): Promise<boolean> {
  const rows = await tx.query('SELECT 1 FROM mpa_requests WHERE tenant_id = $1 AND idempotency_key = $2', [tenantId, key]);
  return rows.length > 0;
}

/**
 * Refuses a request that would make more than `max` of this organisation's requests wait for one
 * device: a flood of requests can neither bury a device's legitimate ones nor grow its sync
 * without bound. `retry_after_seconds` says when the first of that device's pending requests expires.
 */
async function checkPendingQuota(tx: Queryable, tenantId: string, groups: ApprovalGroup[], max: number, now: number): Promise<void> {
  const full = await tx.query<{ fingerprint: string; first_expiry: Date }>(
    `SELECT a.fingerprint, min(r.expires_at) AS first_expiry
       FROM mpa_approvers a JOIN mpa_requests r ON r.id = a.request_id
      WHERE a.pending AND a.fingerprint = ANY($2::text[]) AND r.tenant_id = $1 AND ${expirySql.stillPending('r', '$3')}
      GROUP BY a.fingerprint HAVING count(*) >= $4
      ORDER BY a.fingerprint LIMIT 1`,
    [tenantId, groups.flatMap((g) => g.approvers.map((a) => a.fingerprint)), new Date(now), max],
  );
  const [first] = full;
  if (!first) return;
  const retryAfter = Math.max(1, Math.ceil((first.first_expiry.getTime() - now) / 1000));
  throw new ApiError(
    'too_many_pending_requests',
    `Device ${first.fingerprint} already has ${max} pending requests from this organisation; wait until some are decided or expire`,
    { fingerprint: first.fingerprint, limit: max, retry_after_seconds: retryAfter },
  );
}

/**
 * Locks the request row and brings a pending request that is past its expiry to timeout.
 * After the lock, one statement reads the recorded decisions (in the order the store serialised
 * them) and, for a decision, the deciding device's pairing and organisation name: one round trip
 * instead of two.
 */
async function lockForTransition(
  tx: Queryable,
  id: string,
  now: number,
  tenantId?: string,
  deviceFingerprint?: string,
): Promise<{ row: RequestRow; events: EngineEvent[]; device: { revoked_at: Date | null; org_name: string } | null }> {
  const [row] = await tx.query<RequestRow>(
    `SELECT ${COLUMNS} FROM mpa_requests WHERE id = $1 AND ($2::uuid IS NULL OR tenant_id = $2) FOR UPDATE`,
    [id, tenantId ?? null],
  );
  if (!row) throw notFound('MPA request');
  const rows = await tx.query<{
    source: 'decision' | 'device';
    group_index: number;
    decision: Decision;
    decided_at: Date;
    revoked_at: Date | null;
    org_name: string;
  }>(
    `(SELECT 'decision' AS source, seq, group_index, decision, decided_at, NULL::timestamptz AS revoked_at, NULL AS org_name FROM mpa_decisions WHERE request_id = $1)
     UNION ALL
     (SELECT 'device', NULL, NULL, NULL, NULL, dev.revoked_at, t.name FROM devices dev JOIN tenants t ON t.id = dev.tenant_id
       WHERE dev.tenant_id = $2 AND dev.fingerprint = $3)
     ORDER BY source DESC, seq`,
    [id, row.tenant_id, deviceFingerprint ?? null],
  );
  const events: EngineEvent[] = [];
  let device: { revoked_at: Date | null; org_name: string } | null = null;
  for (const r of rows) {
    if (r.source === 'device') device = { revoked_at: r.revoked_at, org_name: r.org_name };
    else events.push({ kind: r.decision === 'approve' ? 'approve' : 'deny', groupIndex: r.group_index, at: r.decided_at.getTime() });
  }
  if (row.status === 'pending') {
    const state = evaluate(policyOf(row), events, now);
    if (state.status === 'timeout') await applyTransition(tx, row, state);
  }
  return { row, events, device };
}

/** Persists a new engine state with its outbox event, audit entry and announcement. */
async function applyTransition(tx: Queryable, row: RequestRow, state: EngineState): Promise<void> {
  await tx.query('UPDATE mpa_requests SET status = $2, groups_satisfied = $3, completed_at = $4 WHERE id = $1', [
    row.id,
    state.status,
    JSON.stringify(state.groupsSatisfied),
    state.completedAt === null ? null : new Date(state.completedAt),
  ]);
  const changedStatus = state.status !== row.status;
  if (changedStatus && state.status !== 'pending')
    await tx.query('UPDATE mpa_approvers SET pending = false WHERE request_id = $1 AND pending', [row.id]);
  row.status = state.status;
  row.groups_satisfied = state.groupsSatisfied;
  row.completed_at = state.completedAt === null ? null : new Date(state.completedAt);
  if (changedStatus && state.status !== 'pending') {
    await recordEvent(tx, row.tenant_id, `mpa.${state.status}` as EventType, eventPayload(row, state), row.id);
    await appendAudit(
      tx,
      row.tenant_id,
      state.status === 'cancelled' ? 'mpa.cancelled' : 'mpa.completed',
      { request_id: row.id, status: state.status, groups_satisfied: state.groupsSatisfied },
      row.id,
    );
  }
  await announceRequestChanged(tx, { tenantId: row.tenant_id, requestId: row.id });
}

function completedError(row: RequestRow): ApiError {
  return new ApiError('request_completed', `MPA request is already ${row.status}`, { status: row.status });
}

/**
 * Runs a transition in a transaction; a refusal because the request is over is thrown only after
 * the commit, so a timeout the lock just recorded is kept: the client is told `timeout` only
 * once it is stored, and no decision holding an earlier clock reading can approve it after.
 */
async function transitionOrRefuse<T>(db: Database, fn: (tx: Queryable) => Promise<T | ApiError>): Promise<T> {
  const result = await db.transaction(fn);
  if (result instanceof ApiError) throw result;
  return result;
}

export async function cancelRequest(db: Database, tenantId: string, id: string, now: number): Promise<MpaRequestView> {
  return transitionOrRefuse(db, async (tx) => {
    const { row, events } = await lockForTransition(tx, id, now, tenantId);
    if (row.status !== 'pending') return completedError(row);
    await applyTransition(tx, row, evaluate(policyOf(row), [...events, { kind: 'cancel', at: serialTime(events, now) }], now));
    return toView(row, now);
  });
}

export interface VerifiedDecision {
  requestId: string;
  fingerprint: string;
  decision: Decision;
  payload: unknown;
  signature: string;
}

/**
 * Records a decision whose signature the caller has verified, applies the quorum rules, and
 * returns the request as the deciding device now sees it.
 */
export async function recordDecision(db: Database, d: VerifiedDecision, now: number): Promise<DeviceRequestView> {
  return transitionOrRefuse(db, async (tx) => {
    const { row, events, device } = await lockForTransition(tx, d.requestId, now, undefined, d.fingerprint);
    if (row.status !== 'pending') return completedError(row);
    const at = serialTime(events, now);
    if (!device || device.revoked_at) throw new ApiError('device_revoked', 'this device has been revoked and can no longer decide');
    const groupIndex = row.groups.findIndex((g) => g.approvers.some((a) => a.fingerprint === d.fingerprint));
    const [inserted] = await tx.query<{ decided_at: Date }>(
      `INSERT INTO mpa_decisions (request_id, fingerprint, group_index, decision, payload, signature, decided_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (request_id, fingerprint) DO NOTHING RETURNING decided_at`,
      [row.id, d.fingerprint, groupIndex, d.decision, JSON.stringify(d.payload), d.signature, new Date(at)],
    );
    if (!inserted) throw new ApiError('already_decided', 'this device has already decided on this request');
    const group = row.groups[groupIndex]!.name;
    await appendAudit(
      tx,
      row.tenant_id,
      'mpa.decision',
      { request_id: row.id, fingerprint: d.fingerprint, group, decision: d.decision, payload: d.payload, signature: d.signature },
      row.id,
    );
    const state = evaluate(policyOf(row), [...events, { kind: d.decision, groupIndex, at }], now);
    if (state.status !== row.status || state.groupsSatisfied.length !== row.groups_satisfied.length) {
      await applyTransition(tx, row, state);
    } else {
      await announceRequestChanged(tx, { tenantId: row.tenant_id, requestId: row.id });
    }
    return deviceView(row, { groupIndex, orgName: device.org_name, myDecision: d.decision }, now);
  });
}

/** Moves pending requests past their expiry to timeout; safe to run on every instance at once. */
/**
 * The time of a new event: now, or the latest recorded event's time if that is later. Instances
 * read their clocks before taking the row lock, so a transaction that locks later may hold an
 * earlier now; events keep the order the lock gave them, and nothing ends before what it follows.
 */
function serialTime(events: readonly EngineEvent[], now: number): number {
  return events.reduce((latest, e) => Math.max(latest, e.at), now);
}

/**
 * The status a decision that arrives too late is refused with, read under the row lock so a
 * transition committing meanwhile is seen: the stored outcome of a finished request, else timeout
 * (a pending request past its expiry is timed out here, as any transition would).
 */
export async function statusForLateDecision(db: Database, id: string, now: number): Promise<MpaStatus> {
  return db.transaction(async (tx) => {
    const { row } = await lockForTransition(tx, id, now);
    return row.status === 'pending' ? 'timeout' : row.status;
  });
}

export async function expireDueRequests(db: Database, now: number, batch = 100): Promise<number> {
  return db.transaction(async (tx) => {
    const due = await tx.query<{ id: string }>(
      `SELECT id FROM mpa_requests WHERE ${expirySql.overdue('', '$1')} ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
      [new Date(now), batch],
    );
    for (const { id } of due) await lockForTransition(tx, id, now);
    return due.length;
  });
}
