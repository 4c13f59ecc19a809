import { createHash, randomUUID } from 'node:crypto';
import {
  actionDigest,
  canonicalize,
  type ApprovalGroup,
  type Decision,
  type DeviceRequestView,
  type MpaPolicy,
  type MpaRequestView,
  type MpaStatus,
  type ParamValue,
} from '@sigilauth/protocol';
import { appendAudit } from '../audit/log.js';
import { DEFAULT_MAX_PENDING_PER_DEVICE } from '../config.js';
import { announceRequestChanged } from '../events/bus.js';
import { recordEvent, type EventType } from '../events/outbox.js';
import { ApiError, notFound } from '../http/errors.js';
import { isSupportedTimestamp } from '../http/input-guard.js';
import type { Database, Queryable } from '../storage/database.js';
import { evaluate, type EngineEvent, type EngineState } from './engine.js';

export interface RequestRow {
  id: string;
  tenant_id: string;
  required: number;
  groups: ApprovalGroup[];
  action: { type: string; description: string; params: Record<string, ParamValue> };
  action_digest: string;
  status: MpaStatus;
  groups_satisfied: string[];
  expires_at: Date;
  created_at: Date;
  completed_at: Date | null;
  body_hash: string | null;
}

const COLUMNS = 'id, tenant_id, required, groups, action, action_digest, status, groups_satisfied, expires_at, created_at, completed_at, body_hash';

/** The status as of now: a pending request past its expiry is a timeout even before the sweeper records it. */
function currentState(row: RequestRow, now: number): Pick<EngineState, 'status' | 'completedAt'> {
  if (row.status === 'pending' && now >= row.expires_at.getTime()) return { status: 'timeout', completedAt: row.expires_at.getTime() };
  return { status: row.status, completedAt: row.completed_at?.getTime() ?? null };
}

export function toView(row: RequestRow, now: number): MpaRequestView {
  const { status, completedAt } = currentState(row, now);
  return {
    request_id: row.id,
    status,
    groups_required: row.required,
    groups_total: row.groups.length,
    groups_satisfied: row.groups_satisfied,
    expires_at: row.expires_at.toISOString(),
    created_at: row.created_at.toISOString(),
    ...(completedAt !== null ? { completed_at: new Date(completedAt).toISOString() } : {}),
    action: row.action,
  };
}

export function eventPayload(row: RequestRow, state: EngineState): Record<string, unknown> {
  return {
    request_id: row.id,
    status: state.status,
    groups_satisfied: state.groupsSatisfied,
    groups_required: row.required,
    groups_total: row.groups.length,
    action: row.action,
    timestamp: new Date(state.completedAt ?? row.created_at.getTime()).toISOString(),
  };
}

export function hashBody(body: unknown): string {
  return createHash('sha256').update(canonicalize(body)).digest('hex');
}

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
      [id, tenantId, policy.required, JSON.stringify(policy.groups), JSON.stringify(policy.action), actionDigest(policy.action), expiresAt, createdAt, idempotencyKey ?? null, bodyHash],
    );
    if (!inserted) {
      const [existing] = await tx.query<RequestRow>(`SELECT ${COLUMNS} FROM mpa_requests WHERE tenant_id = $1 AND idempotency_key = $2`, [tenantId, idempotencyKey]);
      if (!existing) throw new Error('idempotent request vanished');
      if (existing.body_hash !== bodyHash) {
        throw new ApiError(409, 'idempotency_conflict', 'Idempotency-Key was already used with a different request body');
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
      throw new ApiError(400, 'invalid_request', `Invalid MPA request: device ${fingerprint} is not paired with this organisation`);
    }
    if (device.revoked_at) throw new ApiError(400, 'invalid_request', `Invalid MPA request: device ${fingerprint} has been revoked`);
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
      WHERE a.pending AND a.fingerprint = ANY($2::text[]) AND r.tenant_id = $1 AND r.status = 'pending' AND r.expires_at > $3
      GROUP BY a.fingerprint HAVING count(*) >= $4
      ORDER BY a.fingerprint LIMIT 1`,
    [tenantId, groups.flatMap((g) => g.approvers.map((a) => a.fingerprint)), new Date(now), max],
  );
  const [first] = full;
  if (!first) return;
  const retryAfter = Math.max(1, Math.ceil((first.first_expiry.getTime() - now) / 1000));
  throw new ApiError(
    429,
    'too_many_pending_requests',
    `Device ${first.fingerprint} already has ${max} pending requests from this organisation; wait until some are decided or expire`,
    { fingerprint: first.fingerprint, limit: max, retry_after_seconds: retryAfter },
  );
}

export async function getRequest(db: Queryable, tenantId: string, id: string, now: number): Promise<MpaRequestView> {
  const [row] = await db.query<RequestRow>(`SELECT ${COLUMNS} FROM mpa_requests WHERE id = $1 AND tenant_id = $2`, [id, tenantId]);
  if (!row) throw notFound('MPA request');
  return toView(row, now);
}

export interface ListOptions {
  status?: MpaStatus | undefined;
  limit: number;
  cursor?: string | undefined;
  now: number;
}

const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A next_cursor as listRequests made it: [created_at as toISOString gives it, id]; anything else is a 400. */
function decodeListCursor(cursor: string): [string, string] {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    decoded = null;
  }
  if (Array.isArray(decoded) && decoded.length === 2) {
    const [time, id] = decoded as unknown[];
    if (typeof time === 'string' && typeof id === 'string' && CURSOR_TIME.test(time) && isSupportedTimestamp(time) && UUID.test(id)) return [time, id];
  }
  throw new ApiError(400, 'invalid_request', 'cursor is not valid: pass back the next_cursor of the previous page');
}

/** Newest first, keyset-paginated by (created_at, id). */
export async function listRequests(db: Queryable, tenantId: string, { status, limit, cursor, now }: ListOptions) {
  const after = cursor ? decodeListCursor(cursor) : null;
  const rows = await db.query<RequestRow>(
    `SELECT ${COLUMNS} FROM mpa_requests
     WHERE tenant_id = $1
       AND ($2::text IS NULL OR (CASE WHEN status = 'pending' AND expires_at <= $3 THEN 'timeout' ELSE status END) = $2)
       AND ($4::timestamptz IS NULL OR (created_at, id) < ($4, $5::uuid))
     ORDER BY created_at DESC, id DESC LIMIT $6`,
    [tenantId, status ?? null, new Date(now), after?.[0] ?? null, after?.[1] ?? null, limit + 1],
  );
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  const next = rows.length > limit && last ? Buffer.from(JSON.stringify([last.created_at.toISOString(), last.id])).toString('base64url') : null;
  return { data: page.map((r) => toView(r, now)), next_cursor: next };
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
  const rows = await tx.query<{ source: 'decision' | 'device'; group_index: number; decision: Decision; decided_at: Date; revoked_at: Date | null; org_name: string }>(
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

function policyOf(row: RequestRow) {
  return { required: row.required, groupNames: row.groups.map((g) => g.name), expiresAt: row.expires_at.getTime() };
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
  if (changedStatus && state.status !== 'pending') await tx.query('UPDATE mpa_approvers SET pending = false WHERE request_id = $1 AND pending', [row.id]);
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
  return new ApiError(409, 'request_completed', `MPA request is already ${row.status}`, { status: row.status });
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
    if (!device || device.revoked_at) throw new ApiError(403, 'device_revoked', 'this device has been revoked and can no longer decide');
    const groupIndex = row.groups.findIndex((g) => g.approvers.some((a) => a.fingerprint === d.fingerprint));
    const [inserted] = await tx.query<{ decided_at: Date }>(
      `INSERT INTO mpa_decisions (request_id, fingerprint, group_index, decision, payload, signature, decided_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (request_id, fingerprint) DO NOTHING RETURNING decided_at`,
      [row.id, d.fingerprint, groupIndex, d.decision, JSON.stringify(d.payload), d.signature, new Date(at)],
    );
    if (!inserted) throw new ApiError(409, 'already_decided', 'this device has already decided on this request');
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

/** Loads a request for decision checks, without a lock: policy, keys and digest never change. */
export async function findRequest(db: Queryable, id: string): Promise<RequestRow | null> {
  const [row] = await db.query<RequestRow>(`SELECT ${COLUMNS} FROM mpa_requests WHERE id = $1`, [id]);
  return row ?? null;
}

/** Moves pending requests past their expiry to timeout; safe to run on every instance at once. */
export async function expireDueRequests(db: Database, now: number, batch = 100): Promise<number> {
  return db.transaction(async (tx) => {
    const due = await tx.query<{ id: string }>(
      `SELECT id FROM mpa_requests WHERE status = 'pending' AND expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
      [new Date(now), batch],
    );
    for (const { id } of due) await lockForTransition(tx, id, now);
    return due.length;
  });
}

/**
 * The columns of a device's view of a request; the organisation, this device's decision and its
 * pairing are looked up per row (each at most one row, by primary key), which plans faster than
 * the equivalent five-way join: this runs for every decision response and every push.
 */
const VIEW_COLUMNS = `r.id, r.tenant_id, r.required, r.groups, r.action, r.action_digest, r.status, r.groups_satisfied, r.expires_at,
            r.created_at, r.completed_at, a.group_index,
            (SELECT t.name FROM tenants t WHERE t.id = r.tenant_id) AS org_name,
            (SELECT d.decision FROM mpa_decisions d WHERE d.request_id = a.request_id AND d.fingerprint = a.fingerprint) AS my_decision`;
const STILL_PAIRED = 'EXISTS (SELECT 1 FROM devices dev WHERE dev.tenant_id = r.tenant_id AND dev.fingerprint = a.fingerprint AND dev.revoked_at IS NULL)';

/** A paired device as its sessions see it: the one organisation its key belongs to, and the key. */
export interface DeviceRef {
  tenantId: string;
  fingerprint: string;
}

type ViewRow = RequestRow & { group_index: number; org_name: string; my_decision: Decision | null };
const toDeviceView = (row: ViewRow, now: number) => deviceView(row, { groupIndex: row.group_index, orgName: row.org_name, myDecision: row.my_decision }, now);

/**
 * Named requests as the given device should see them: those of the device's own organisation that
 * name it (the tenant is matched as well as the fingerprint, so a session never reads another
 * organisation's requests).
 */
export async function deviceViews(db: Queryable, device: DeviceRef, requestIds: string[], now: number): Promise<DeviceRequestView[]> {
  const rows = await db.query<ViewRow>(
    `SELECT ${VIEW_COLUMNS}
       FROM mpa_approvers a JOIN mpa_requests r ON r.id = a.request_id
      WHERE a.request_id = ANY($2::uuid[]) AND a.fingerprint = $1 AND r.tenant_id = $3 AND ${STILL_PAIRED}
      ORDER BY r.created_at`,
    [device.fingerprint, requestIds, device.tenantId],
  );
  return rows.map((row) => toDeviceView(row, now));
}

/** Most requests in one page of a device's sync: far below any client's message limit (each view is at most about 10 KiB). */
export const SYNC_PAGE_SIZE = 20;
/** Most bytes of views in one page, whatever the views weigh. */
export const SYNC_PAGE_MAX_BYTES = 256 * 1024;

export interface ViewPage {
  requests: DeviceRequestView[];
  /** Pass as `cursor` for the next page; null on the last page. */
  next_cursor: string | null;
}

/** A cursor is the ID of the last request of the previous page. */
export const isSyncCursor = (cursor: unknown): cursor is string =>
  typeof cursor === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(cursor);

/**
 * One page of the pending requests naming a device, newest first, so that a device always
 * reaches its newest requests first however many are waiting. A page holds at most
 * SYNC_PAGE_SIZE requests and SYNC_PAGE_MAX_BYTES of JSON.
 */
export async function pendingViewsPage(db: Queryable, device: DeviceRef, now: number, cursor: string | null = null): Promise<ViewPage> {
  const rows = await db.query<ViewRow>(
    `SELECT ${VIEW_COLUMNS}
       FROM mpa_approvers a JOIN mpa_requests r ON r.id = a.request_id
      WHERE a.fingerprint = $1 AND r.tenant_id = $5 AND a.pending AND r.status = 'pending' AND r.expires_at > $2 AND ${STILL_PAIRED}
        AND ($3::uuid IS NULL OR (r.created_at, r.id) < (SELECT c.created_at, c.id FROM mpa_requests c WHERE c.id = $3::uuid))
      ORDER BY r.created_at DESC, r.id DESC
      LIMIT $4`,
    [device.fingerprint, new Date(now), cursor, SYNC_PAGE_SIZE + 1, device.tenantId],
  );
  const requests: DeviceRequestView[] = [];
  let bytes = 0;
  for (const row of rows.slice(0, SYNC_PAGE_SIZE)) {
    const view = toDeviceView(row, now);
    bytes += Buffer.byteLength(JSON.stringify(view));
    if (requests.length > 0 && bytes > SYNC_PAGE_MAX_BYTES) break;
    requests.push(view);
  }
  const more = requests.length < rows.length;
  return { requests, next_cursor: more ? requests[requests.length - 1]!.request_id : null };
}

/** A request as one of its approvers' devices sees it. */
function deviceView(row: RequestRow, seat: { groupIndex: number; orgName: string; myDecision: Decision | null }, now: number): DeviceRequestView {
  const { status, completedAt } = currentState(row, now);
  return {
    tenant_id: row.tenant_id,
    org_name: seat.orgName,
    request_id: row.id,
    status,
    action: row.action,
    action_digest: row.action_digest,
    groups_required: row.required,
    groups_total: row.groups.length,
    groups_satisfied_count: row.groups_satisfied.length,
    group_name: row.groups[seat.groupIndex]!.name,
    my_decision: seat.myDecision,
    my_group_satisfied: row.groups_satisfied.includes(row.groups[seat.groupIndex]!.name),
    expires_at: row.expires_at.toISOString(),
    created_at: row.created_at.toISOString(),
    completed_at: completedAt === null ? null : new Date(completedAt).toISOString(),
  };
}
