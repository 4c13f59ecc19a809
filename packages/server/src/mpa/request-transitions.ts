import { randomUUID } from 'node:crypto';
import {
  actionDigest,
  EMERGENCY_OVERRIDE_ACTION,
  type ApprovalGroup,
  type Decision,
  type MpaPolicy,
  type MpaStatus,
} from '@sigilauth/protocol';
import type { DeviceRequestView, MpaRequestView, MpaWebhookEvent, GovernanceSettings } from '@sigilauth/protocol/wire';
import { appendAudit, withAuditBatched } from '../audit/log.js';
import { DEFAULT_MAX_PENDING_PER_DEVICE } from '../config.js';
import { announceRequestsChanged } from '../events/bus.js';
import { recordEvent, type EventBody } from '../events/outbox.js';
import { ApiError, notFound, refusalAsValue, throwRefusal } from '../http/errors.js';
import { recordOverrideReviewed } from '../overrides/review.js';
import { storeProcedure, type Database, type Queryable } from '../storage/database.js';
import { resolvePolicy, type ResolvedPolicy } from './policy-resolution.js';
import { evaluate, type EngineEvent, type EngineState } from './engine.js';
import { expirySql } from './expiry-rule.js';
import {
  detectFlags,
  JudgedByGuesses,
  originKeys,
  recordFlags,
  type DecisionOrigin,
  type DetectedFlag,
  type JudgedBy,
} from '../governance/anomaly-flags.js';
import { settingsFromJson, settingsJson } from '../governance/settings.js';
import {
  COLUMNS,
  MUTABLE_COLUMNS,
  deviceView,
  eventPayload,
  policyOf,
  requiredOf,
  toView,
  type FixedRequest,
  type MutableColumn,
  type RequestRow,
} from './requests.js';

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
  options: CreateOptions,
): Promise<{ view: MpaRequestView; replayed: boolean }> {
  return throwRefusal(await db.runProcedure(CREATE_REQUEST, tenantId, policy, options));
}

export const CREATE_REQUEST = storeProcedure(
  import.meta.url,
  'CREATE_REQUEST',
  (db, tenantId: string, policy: MpaPolicy, options: CreateOptions) =>
    refusalAsValue(
      db.transaction(async (tx) => {
        const { row, replayed } = await createRequestIn(tx, tenantId, policy, options);
        return { view: toView(row, options.now), replayed };
      }),
    ),
);

/**
 * Creates a request inside the caller's transaction (an override creates its review request so)
 * and returns its stored row. Team groups are resolved and the requester's devices left out here:
 * the request freezes the approvers it names (policy-resolution.ts).
 */
export async function createRequestIn(
  tx: Queryable,
  tenantId: string,
  policy: MpaPolicy,
  { idempotencyKey, bodyHash, now, maxPendingPerDevice }: CreateOptions,
): Promise<{ row: RequestRow; replayed: boolean }> {
  if (idempotencyKey !== undefined) {
    const existing = await requestByIdempotencyKey(tx, tenantId, idempotencyKey, bodyHash);
    if (existing) return { row: existing, replayed: true };
  }
  const resolved = await resolvePolicy(tx, tenantId, policy);
  // The quota is read right after the pairings are locked, in the same round trip on PostgreSQL;
  // a pairing that fails its check is reported before the quota.
  const [paired, quota] = await Promise.allSettled([
    checkApproversPaired(tx, tenantId, resolved.groups),
    checkPendingQuota(tx, resolved.groups, maxPendingPerDevice ?? DEFAULT_MAX_PENDING_PER_DEVICE, now),
  ]);
  if (paired.status === 'rejected') throw paired.reason;
  if (quota.status === 'rejected') throw quota.reason;
  const id = randomUUID();
  const createdAt = new Date(now);
  const expiresAt = new Date(now + resolved.expires_in_seconds * 1000);
  const fingerprints: string[] = [];
  const groupIndexes: number[] = [];
  resolved.groups.forEach((group, gi) => group.approvers.forEach((a) => (fingerprints.push(a.fingerprint), groupIndexes.push(gi))));
  // The request and its approvers in one statement; an earlier request with the same key inserts neither.
  const [inserted] = await tx.query<RequestRow>(
    `WITH request AS (
       INSERT INTO mpa_requests (id, tenant_id, required, groups, action, action_digest, expires_at, created_at, idempotency_key, body_hash, requested_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       ON CONFLICT (tenant_id, idempotency_key) DO NOTHING RETURNING ${COLUMNS}
     ), approvers AS (
       INSERT INTO mpa_approvers (request_id, fingerprint, group_index, pending, created_at, expires_at)
       SELECT request.id, f, g, true, $8, $7 FROM request, unnest($12::text[], $13::int[]) AS t(f, g)
     )
     SELECT * FROM request`,
    [
      id,
      tenantId,
      resolved.required,
      JSON.stringify(resolved.groups),
      JSON.stringify(resolved.action),
      actionDigest(resolved.action),
      expiresAt,
      createdAt,
      idempotencyKey ?? null,
      bodyHash,
      resolved.requested_by ? JSON.stringify(resolved.requested_by) : null,
      fingerprints,
      groupIndexes,
    ],
  );
  if (!inserted) {
    const existing = await requestByIdempotencyKey(tx, tenantId, idempotencyKey!, bodyHash);
    if (!existing) throw new Error('idempotent request vanished');
    return { row: existing, replayed: true };
  }
  await announceRequestsChanged(tx, [{ tenantId, requestId: id }]);
  const state: EngineState = { status: 'pending', groupsSatisfied: [], completedAt: null };
  await recordEvent(
    tx,
    tenantId,
    'mpa.created',
    { ...eventPayload(inserted, state), status: 'pending', expires_at: expiresAt.toISOString() },
    id,
  );
  await appendAudit(tx, tenantId, 'mpa.created', auditRequestFields(inserted, resolved), id);
  return { row: inserted, replayed: false };
}

/** The request an Idempotency-Key already made, or null; a different body under the same key is a 409. */
async function requestByIdempotencyKey(tx: Queryable, tenantId: string, key: string, bodyHash: string): Promise<RequestRow | null> {
  const [existing] = await tx.query<RequestRow>(`SELECT ${COLUMNS} FROM mpa_requests WHERE tenant_id = $1 AND idempotency_key = $2`, [
    tenantId,
    key,
  ]);
  if (!existing) return null;
  if (existing.body_hash !== bodyHash) {
    throw new ApiError('idempotency_conflict', 'Idempotency-Key was already used with a different request body');
  }
  return existing;
}

function auditRequestFields(row: RequestRow, resolved: ResolvedPolicy): Record<string, unknown> {
  return {
    request_id: row.id,
    required: row.required,
    groups: resolved.groups.map((g) => ({
      name: g.name,
      ...(g.team ? { team: g.team } : {}),
      approvers: g.approvers.map((a) => a.fingerprint),
    })),
    ...(resolved.requested_by ? { requester: resolved.requested_by, requester_devices_excluded: resolved.excluded } : {}),
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

/**
 * Refuses a request that would make more than `max` of this organisation's requests wait for one
 * device: a flood of requests can neither bury a device's legitimate ones nor grow its sync
 * without bound. `retry_after_seconds` says when the first of that device's pending requests expires.
 * Read from the approvals alone: an approval is pending exactly while its request is, and every
 * request naming a device is of the device's organisation (checkApproversPaired; a device key is
 * paired with one organisation for good).
 */
async function checkPendingQuota(tx: Queryable, groups: ApprovalGroup[], max: number, now: number): Promise<void> {
  const full = await tx.query<{ fingerprint: string; first_expiry: Date }>(
    `SELECT fingerprint, min(expires_at) AS first_expiry
       FROM mpa_approvers
      WHERE pending AND fingerprint = ANY($1::text[]) AND NOT ${expirySql.hasExpired('', '$2')}
      GROUP BY fingerprint HAVING count(*) >= $3
      ORDER BY fingerprint LIMIT 1`,
    [groups.flatMap((g) => g.approvers.map((a) => a.fingerprint)), new Date(now), max],
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

/** A decision recorded but not yet released (timing privacy, docs/governance.md). */
interface HeldDecision {
  event: EngineEvent;
  fingerprint: string;
  groupIndex: number;
  decision: Decision;
  payload: unknown;
  signature: string;
  flags: DetectedFlag[];
}

/** The deciding device, read with the locked request. */
interface LockedDevice {
  revoked_at: Date | null;
  org_name: string;
  /** Its own time zone for anomaly flags (null: its organisation's). */
  time_zone: string | null;
  /** Its organisation's governance settings. */
  settings: GovernanceSettings;
}

/**
 * Locks the request row and brings a pending request up to date: releases its held decisions
 * once their release is due, and times it out past its expiry. `events` are the released
 * decisions, `held` those still held.
 */
async function lockForTransition<A = never>(
  tx: Queryable,
  id: string,
  now: number,
  {
    tenantId,
    deviceFingerprint,
    known,
    alongside,
  }: {
    /** Only this organisation's request. */
    tenantId?: string;
    /** The deciding device, read in the same statement as the decisions. */
    deviceFingerprint?: string;
    /** The request's fixed fields as read before the lock: they are not read again. */
    known?: FixedRequest;
    /** A read sent with the lock and a known request's decisions (one round trip on PostgreSQL), run after the lock is taken. */
    alongside?: (() => Promise<A>) | undefined;
  } = {},
): Promise<{
  row: RequestRow;
  events: EngineEvent[];
  held: HeldDecision[];
  /** The devices that have decided on the request, held decisions included. */
  decided: Set<string>;
  device: LockedDevice | null;
  /** What `alongside` read, when it was sent. */
  readAlongside: A | undefined;
}> {
  const lock = known
    ? tx
        .query<Pick<RequestRow, MutableColumn>>(`SELECT ${MUTABLE_COLUMNS} FROM mpa_requests WHERE id = $1 FOR UPDATE`, [id])
        .then((rows) => rows.map((mutable): RequestRow => ({ ...known, ...mutable })))
    : tx.query<RequestRow>(`SELECT ${COLUMNS} FROM mpa_requests WHERE id = $1 AND ($2::uuid IS NULL OR tenant_id = $2) FOR UPDATE`, [
        id,
        tenantId ?? null,
      ]);
  // A known request's decisions are read together with the lock (one round trip on PostgreSQL);
  // they are read after it all the same, so they include every decision committed before it.
  const [[row], readTogether, readAlongside] = await Promise.all([
    lock,
    known ? decisionsAndDevice(tx, id, known.tenant_id, deviceFingerprint) : null,
    known && alongside ? alongside() : undefined,
  ]);
  if (!row || (tenantId !== undefined && row.tenant_id !== tenantId)) throw notFound('MPA request');
  const rows = readTogether ?? (await decisionsAndDevice(tx, id, row.tenant_id, deviceFingerprint));
  const events: EngineEvent[] = [];
  let held: HeldDecision[] = [];
  const decided = new Set<string>();
  let device: LockedDevice | null = null;
  for (const r of rows) {
    if (r.source === 'device') {
      device = { revoked_at: r.revoked_at, org_name: r.org_name, time_zone: r.time_zone, settings: settingsFromJson(r.settings) };
      continue;
    }
    decided.add(r.fingerprint);
    const event = engineEvent(r.decision, r.group_index, r.decided_at.getTime(), r.raises_required);
    if (!r.held) events.push(event);
    else
      held.push({
        event,
        fingerprint: r.fingerprint,
        groupIndex: r.group_index,
        decision: r.decision,
        payload: r.payload,
        signature: r.signature,
        flags: r.held_flags ?? [],
      });
  }
  if (row.status === 'pending' && row.release_due_at) {
    if (now >= row.release_due_at.getTime()) {
      events.push(...(await releaseHeld(tx, row, events, held, now)));
      held = [];
    }
  } else if (row.status === 'pending') {
    const state = evaluate(policyOf(row), events, now);
    if (state.status === 'timeout') await applyTransition(tx, row, state);
  }
  return { row, events, held, decided, device, readAlongside };
}

/**
 * A request's recorded decisions, in the order the store serialised them, and, for a decision, the
 * deciding device's pairing and organisation name: one statement instead of two.
 */
function decisionsAndDevice(tx: Queryable, id: string, tenantId: string, deviceFingerprint: string | undefined) {
  return tx.query<{
    source: 'decision' | 'device';
    group_index: number;
    decision: Decision;
    decided_at: Date;
    raises_required: boolean;
    held: boolean;
    fingerprint: string;
    payload: unknown;
    signature: string;
    held_flags: DetectedFlag[] | null;
    revoked_at: Date | null;
    org_name: string;
    time_zone: string | null;
    settings: Parameters<typeof settingsFromJson>[0];
  }>(
    `(SELECT 'decision' AS source, seq, group_index, decision, decided_at, raises_required, held, fingerprint,
             CASE WHEN held THEN payload END AS payload, CASE WHEN held THEN signature END AS signature, held_flags,
             NULL::timestamptz AS revoked_at, NULL AS org_name, NULL AS time_zone, NULL::jsonb AS settings
        FROM mpa_decisions WHERE request_id = $1)
     UNION ALL
     (SELECT 'device', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, dev.revoked_at, t.name, dev.time_zone, ${settingsJson('g')}
        FROM devices dev JOIN tenants t ON t.id = dev.tenant_id LEFT JOIN governance_settings g ON g.tenant_id = dev.tenant_id
       WHERE dev.tenant_id = $2 AND dev.fingerprint = $3)
     ORDER BY source DESC, seq`,
    [id, tenantId, deviceFingerprint ?? null],
  );
}

const engineEvent = (decision: Decision, groupIndex: number, at: number, raisesRequired: boolean): EngineEvent =>
  decision === 'approve' ? { kind: 'approve', groupIndex, at, raisesRequired } : { kind: 'deny', groupIndex, at };

/**
 * The order in which decisions released together count: denials first, then approvals, each in
 * the order they arrived. Until its approvals are released a request has decided nothing anyone
 * can see, so a denial that arrives before the release still rejects it.
 */
const releaseOrder = (held: readonly { event: EngineEvent }[]): EngineEvent[] => [
  ...held.filter((h) => h.event.kind === 'deny').map((h) => h.event),
  ...held.filter((h) => h.event.kind !== 'deny').map((h) => h.event),
];

/** The next release boundary after `at`: boundaries are the multiples of batch_seconds since the epoch. */
export const nextBoundary = (at: number, batchSeconds: number): number =>
  (Math.floor(at / (batchSeconds * 1000)) + 1) * batchSeconds * 1000;

/**
 * Releases a request's held decisions at its release time: they count (in release order), the
 * new state is written as of the release time (completed_at, webhooks, notifications), and
 * their audit entries and flags are written now. Returns the events released.
 */
async function releaseHeld(tx: Queryable, row: RequestRow, events: EngineEvent[], held: HeldDecision[], now: number) {
  const releaseAt = row.release_due_at!.getTime();
  const released = releaseOrder(held);
  const state = evaluate(policyOf(row), [...events, ...released], now);
  const final = state.status === 'approved' || state.status === 'rejected' ? { ...state, completedAt: releaseAt } : state;
  await flushHeld(tx, row, held, releaseAt, final.required ?? row.required);
  await applyTransition(tx, row, final);
  return released;
}

/**
 * Writes what a held decision leaves behind once released (its mpa.decision audit entry, its
 * flags with their mpa.flagged entry and event, dated `at`) and marks nothing held any more.
 */
async function flushHeld(tx: Queryable, row: RequestRow, held: HeldDecision[], at: number, groupsRequired: number): Promise<void> {
  if (held.length === 0 && !row.release_due_at) return;
  for (const h of held) {
    const group = row.groups[h.groupIndex]!.name;
    await appendAudit(
      tx,
      row.tenant_id,
      'mpa.decision',
      { request_id: row.id, fingerprint: h.fingerprint, group, decision: h.decision, payload: h.payload, signature: h.signature },
      row.id,
    );
    const raised = h.event.kind === 'approve' && h.event.raisesRequired === true && groupsRequired > row.required;
    await recordFlags(
      tx,
      {
        tenantId: row.tenant_id,
        requestId: row.id,
        fingerprint: h.fingerprint,
        groupIndex: h.groupIndex,
        group,
        decision: h.decision,
        at,
        extraGroupRequired: raised,
        groupsRequired,
        groupsTotal: row.groups.length,
      },
      h.flags,
    );
  }
  await tx.write('UPDATE mpa_decisions SET held = false, held_flags = NULL WHERE request_id = $1 AND held', [row.id]);
  await tx.write('UPDATE mpa_requests SET release_due_at = NULL WHERE id = $1', [row.id]);
  row.release_due_at = null;
}

/** Persists a new engine state with its outbox event, audit entry and announcement. */
async function applyTransition(tx: Queryable, row: RequestRow, state: EngineState): Promise<void> {
  // A request that ends waits for none of its approvers any more: one statement updates both. Two
  // texts rather than one with a flag, so each keeps a generic plan: with the flag a parameter,
  // the database would plan the statement anew on every call.
  const ended = state.status !== row.status && state.status !== 'pending';
  const request = 'UPDATE mpa_requests SET status = $2, groups_satisfied = $3, completed_at = $4, effective_required = $5 WHERE id = $1';
  await tx.write(
    ended ? `WITH request AS (${request}) UPDATE mpa_approvers SET pending = false WHERE request_id = $1 AND pending` : request,
    [
      row.id,
      state.status,
      JSON.stringify(state.groupsSatisfied),
      state.completedAt === null ? null : new Date(state.completedAt),
      state.required ?? null,
    ],
  );
  await announceRequestsChanged(tx, [{ tenantId: row.tenant_id, requestId: row.id }]);
  row.status = state.status;
  row.groups_satisfied = state.groupsSatisfied;
  row.completed_at = state.completedAt === null ? null : new Date(state.completedAt);
  row.effective_required = state.required ?? null;
  if (ended) {
    const type = `mpa.${state.status}` as Exclude<MpaWebhookEvent['type'], 'mpa.created'>;
    await recordEvent(tx, row.tenant_id, type, eventPayload(row, state) as EventBody<typeof type>, row.id);
    await appendAudit(
      tx,
      row.tenant_id,
      state.status === 'cancelled' ? 'mpa.cancelled' : 'mpa.completed',
      { request_id: row.id, status: state.status, groups_satisfied: state.groupsSatisfied },
      row.id,
    );
    if (row.action.type === EMERGENCY_OVERRIDE_ACTION) await recordOverrideReviewed(tx, row.tenant_id, row.id, state);
  }
}

function completedError(row: RequestRow): ApiError {
  return new ApiError('request_completed', `MPA request is already ${row.status}`, { status: row.status });
}

/** Runs transitions in one transaction; their audit entries are written together at its end. */
const inTransaction = <T>(db: Database, fn: (tx: Queryable) => Promise<T>): Promise<T> => db.transaction((tx) => withAuditBatched(tx, fn));

/**
 * Runs a transition in a transaction; a refusal because the request is over is thrown only after
 * the commit, so a timeout the lock just recorded is kept: the client is told `timeout` only
 * once it is stored, and no decision holding an earlier clock reading can approve it after.
 */
async function transitionOrRefuse<T>(db: Database, fn: (tx: Queryable) => Promise<T | ApiError>): Promise<T> {
  const result = await inTransaction(db, fn);
  if (result instanceof ApiError) throw result;
  return result;
}

export async function cancelRequest(db: Database, tenantId: string, id: string, now: number): Promise<MpaRequestView> {
  return transitionOrRefuse(db, async (tx) => {
    const { row, events, held } = await lockForTransition(tx, id, now, { tenantId });
    if (row.status !== 'pending') return completedError(row);
    // Decisions still held when the application cancels are recorded but do not count: it
    // withdrew the request before it could see them.
    const at = serialTime([...events, ...held.map((h) => h.event)], now);
    await flushHeld(tx, row, held, at, requiredOf(row));
    await applyTransition(tx, row, evaluate(policyOf(row), [...events, { kind: 'cancel', at }], now));
    return toView(row, now);
  });
}

export interface VerifiedDecision {
  requestId: string;
  fingerprint: string;
  decision: Decision;
  payload: unknown;
  signature: string;
  /** Where the decision came from, for anomaly flags (docs/governance.md); none: not judged. */
  origin?: DecisionOrigin | undefined;
  /** The request's fixed fields as its signature was checked against; read under the lock when absent. */
  request?: FixedRequest | undefined;
}

/**
 * Records a decision whose signature the caller has verified, applies the quorum rules, and
 * returns the request as the deciding device now sees it.
 */
export async function recordDecision(db: Database, d: VerifiedDecision, now: number): Promise<DeviceRequestView> {
  return throwRefusal(await db.runProcedure(RECORD_DECISION, d, now));
}

const judgedByGuesses = new JudgedByGuesses();

export const RECORD_DECISION = storeProcedure(import.meta.url, 'RECORD_DECISION', (db, d: VerifiedDecision, now: number) =>
  refusalAsValue(recordDecisionHere(db, d, now)),
);

async function recordDecisionHere(db: Database, d: VerifiedDecision, now: number): Promise<DeviceRequestView> {
  // The device's history is read with the lock, judged by what its last decision was judged by;
  // if what the lock reads shows other settings, or a later time for this decision, it is read again.
  const guess = d.origin && d.request ? judgedByGuesses.get(d.fingerprint) : undefined;
  return transitionOrRefuse(db, async (tx) => {
    const { row, events, held, decided, device, readAlongside } = await lockForTransition(tx, d.requestId, now, {
      deviceFingerprint: d.fingerprint,
      known: d.request,
      alongside: guess && (() => judgeDecision(tx, d.request!, d, d.origin!, now, guess)),
    });
    // Every decision on the request is recorded under its row lock, so this read is complete. It
    // comes first: a decision resent after its answer was lost learns that it was recorded, even
    // when it was the one that ended the request.
    if (decided.has(d.fingerprint)) throw new ApiError('already_decided', 'this device has already decided on this request');
    if (row.status !== 'pending') return completedError(row);
    const at = serialTime([...events, ...held.map((h) => h.event)], now);
    if (!device || device.revoked_at) throw new ApiError('device_revoked', 'this device has been revoked and can no longer decide');
    const groupIndex = row.groups.findIndex((g) => g.approvers.some((a) => a.fingerprint === d.fingerprint));
    const { settings } = device;
    const judgedBy: JudgedBy = { anomaly: settings.anomaly_flags, timeZone: device.time_zone ?? settings.time_zone };
    judgedByGuesses.remember(d.fingerprint, judgedBy);
    const judged = !d.origin
      ? null
      : readAlongside && at === now && JudgedByGuesses.same(guess!, judgedBy)
        ? readAlongside
        : await judgeDecision(tx, row, d, d.origin, at, judgedBy);
    const raisesRequired = judged?.raisesRequired ?? false;
    const release = settings.decision_release;
    const hold = release !== null && !(d.decision === 'deny' && release.deny_immediately);
    await tx.write(
      `INSERT INTO mpa_decisions (request_id, fingerprint, group_index, decision, payload, signature, decided_at, network, client, raises_required,
                                  held, held_flags)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [
        row.id,
        d.fingerprint,
        groupIndex,
        d.decision,
        JSON.stringify(d.payload),
        d.signature,
        new Date(at),
        judged?.network ?? null,
        judged?.client ?? null,
        raisesRequired,
        hold,
        hold ? JSON.stringify(judged?.flags ?? []) : null,
      ],
    );
    if (hold) {
      // Recorded and answered now; released (counted, audited, announced) at the next boundary,
      // or at the request's expiry if that comes first.
      if (!row.release_due_at) {
        const due = Math.min(nextBoundary(at, release.batch_seconds), row.expires_at.getTime());
        await tx.write('UPDATE mpa_requests SET release_due_at = $2 WHERE id = $1', [row.id, new Date(due)]);
        row.release_due_at = new Date(due);
      }
      return deviceView(row, { groupIndex, orgName: device.org_name, myDecision: d.decision }, now);
    }
    const event = engineEvent(d.decision, groupIndex, at, raisesRequired);
    const evaluated = evaluate(policyOf(row), [...events, ...releaseOrder([...held, { event }])], now);
    // Held decisions released with this one are dated by it, never by their own arrival.
    const state = held.length > 0 && evaluated.completedAt !== null ? { ...evaluated, completedAt: at } : evaluated;
    await flushHeld(tx, row, held, at, state.required ?? row.required);
    const group = row.groups[groupIndex]!.name;
    await appendAudit(
      tx,
      row.tenant_id,
      'mpa.decision',
      { request_id: row.id, fingerprint: d.fingerprint, group, decision: d.decision, payload: d.payload, signature: d.signature },
      row.id,
    );
    if (judged) {
      const groupsRequired = state.required ?? requiredOf(row);
      await recordFlags(
        tx,
        {
          tenantId: row.tenant_id,
          requestId: row.id,
          fingerprint: d.fingerprint,
          groupIndex,
          group,
          decision: d.decision,
          at,
          extraGroupRequired: groupsRequired > requiredOf(row),
          groupsRequired,
          groupsTotal: row.groups.length,
        },
        judged.flags,
        judged.flaggedSubscribed,
      );
    }
    if (
      state.status !== row.status ||
      state.groupsSatisfied.length !== row.groups_satisfied.length ||
      (state.required ?? row.required) !== requiredOf(row)
    ) {
      await applyTransition(tx, row, state);
    } else {
      await announceRequestsChanged(tx, [{ tenantId: row.tenant_id, requestId: row.id }]);
    }
    return deviceView(row, { groupIndex, orgName: device.org_name, myDecision: d.decision }, now);
  });
}

/**
 * A decision's anomaly flags and origin, judged under the row lock against the device's history
 * before this decision; a flagged approval raises the quorum when the organisation asks for it.
 */
async function judgeDecision(
  tx: Queryable,
  row: Pick<FixedRequest, 'tenant_id' | 'created_at'>,
  d: VerifiedDecision,
  origin: DecisionOrigin,
  at: number,
  { anomaly, timeZone }: JudgedBy,
) {
  const { network, client } = originKeys(origin);
  const { flags, flaggedSubscribed } = await detectFlags(tx, anomaly, {
    tenantId: row.tenant_id,
    timeZone,
    fingerprint: d.fingerprint,
    decision: d.decision,
    at,
    requestCreatedAt: row.created_at.getTime(),
    network,
    client,
  });
  const raisesRequired = d.decision === 'approve' && flags.length > 0 && anomaly.flagged_approval_requires_extra_group;
  return { network, client, flags, flaggedSubscribed, raisesRequired };
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
  return inTransaction(db, async (tx) => {
    const { row } = await lockForTransition(tx, id, now);
    return row.status === 'pending' ? 'timeout' : row.status;
  });
}

/**
 * Moves pending requests past their expiry to timeout, and releases decisions held for timing
 * privacy whose release is due (never later than the expiry); safe to run on every instance at
 * once: SKIP LOCKED gives each due request to exactly one.
 */
export async function expireDueRequests(db: Database, now: number, batch = 100): Promise<number> {
  return inTransaction(db, async (tx) => {
    const due = await tx.query<{ id: string }>(
      `SELECT id FROM mpa_requests WHERE ${expirySql.overdue('', '$1')} OR (status = 'pending' AND release_due_at <= $1)
        ORDER BY coalesce(release_due_at, expires_at) LIMIT $2 FOR UPDATE SKIP LOCKED`,
      [new Date(now), batch],
    );
    for (const { id } of due) await lockForTransition(tx, id, now);
    return due.length;
  });
}
