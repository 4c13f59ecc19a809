import { createHash } from 'node:crypto';
import { canonicalize, type ApprovalGroup, type Decision, type MpaStatus, type ParamValue } from '@sigilauth/protocol';
import type { DeviceRequestView, MpaRequestView, MpaWebhookEvent } from '@sigilauth/protocol/wire';
import type { EnginePolicy, EngineState } from './engine.js';
import { effectiveStatus } from './expiry-rule.js';

/**
 * MPA requests as stored and as shown: the row, the columns that read it, and the views built
 * from it for the integrator, for webhooks and for approvers' devices. No I/O here: the queries
 * live in request-queries.ts and the state changes in request-transitions.ts.
 */

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
  /** The quorum once a flagged approval raised it; null when it was not raised. */
  effective_required: number | null;
  /** When the decisions held for timing privacy are released; null when none are held. */
  release_due_at: Date | null;
}

/** The number of groups a request needs now: its own, or the quorum a flagged approval raised it to. */
export const requiredOf = (row: Pick<RequestRow, 'required' | 'effective_required'>): number => row.effective_required ?? row.required;

export const COLUMNS =
  'id, tenant_id, required, groups, action, action_digest, status, groups_satisfied, expires_at, created_at, completed_at, body_hash, effective_required, release_due_at';

/** The columns a transition changes; the others are fixed when the request is created. */
const MUTABLE = ['status', 'groups_satisfied', 'completed_at', 'effective_required', 'release_due_at'] as const satisfies ReadonlyArray<
  keyof RequestRow
>;
export type MutableColumn = (typeof MUTABLE)[number];
export const MUTABLE_COLUMNS = MUTABLE.join(', ');

/** A request's fields fixed at its creation: what a decision's signature is checked against. */
export type FixedRequest = Omit<RequestRow, MutableColumn>;
export const FIXED_COLUMNS = COLUMNS.split(', ')
  .filter((column) => !(MUTABLE as readonly string[]).includes(column))
  .join(', ');

/**
 * The status as of now: a pending request past its expiry is a timeout even before the sweeper
 * records it, unless it holds decisions not yet released (their release, due by its expiry at the
 * latest, decides it).
 */
function currentState(row: RequestRow, now: number): Pick<EngineState, 'status' | 'completedAt'> {
  const status = row.release_due_at ? row.status : effectiveStatus(row.status, row.expires_at.getTime(), now);
  if (status !== row.status) return { status, completedAt: row.expires_at.getTime() };
  return { status: row.status, completedAt: row.completed_at?.getTime() ?? null };
}

export function toView(row: RequestRow, now: number): MpaRequestView {
  const { status, completedAt } = currentState(row, now);
  return {
    request_id: row.id,
    status,
    groups_required: requiredOf(row),
    groups_total: row.groups.length,
    groups_satisfied: row.groups_satisfied,
    expires_at: row.expires_at.toISOString(),
    created_at: row.created_at.toISOString(),
    ...(completedAt !== null ? { completed_at: new Date(completedAt).toISOString() } : {}),
    action: row.action,
  };
}

/** The body of the request's `mpa.*` webhook for `state` (mpa.created adds `expires_at`). */
export function eventPayload(row: RequestRow, state: EngineState): Omit<MpaWebhookEvent, 'type' | 'expires_at'> {
  return {
    request_id: row.id,
    status: state.status,
    groups_satisfied: state.groupsSatisfied,
    groups_required: requiredOf(row),
    groups_total: row.groups.length,
    action: row.action,
    timestamp: new Date(state.completedAt ?? row.created_at.getTime()).toISOString(),
  };
}

export function hashBody(body: unknown): string {
  return createHash('sha256').update(canonicalize(body)).digest('hex');
}

export function policyOf(row: RequestRow): EnginePolicy {
  return { required: row.required, groupNames: row.groups.map((g) => g.name), expiresAt: row.expires_at.getTime() };
}

/**
 * The columns of a device's view of a request; the organisation, this device's decision and its
 * pairing are looked up per row (each at most one row, by primary key), which plans faster than
 * the equivalent five-way join: this runs for every decision response and every push.
 */
export const VIEW_COLUMNS = `r.id, r.tenant_id, r.required, r.groups, r.action, r.action_digest, r.status, r.groups_satisfied, r.expires_at,
            r.created_at, r.completed_at, r.effective_required, r.release_due_at, a.group_index,
            (SELECT t.name FROM tenants t WHERE t.id = r.tenant_id) AS org_name,
            (SELECT d.decision FROM mpa_decisions d WHERE d.request_id = a.request_id AND d.fingerprint = a.fingerprint) AS my_decision`;
export const STILL_PAIRED =
  'EXISTS (SELECT 1 FROM devices dev WHERE dev.tenant_id = r.tenant_id AND dev.fingerprint = a.fingerprint AND dev.revoked_at IS NULL)';

/** A paired device as its sessions see it: the one organisation its key belongs to, and the key. */
export interface DeviceRef {
  tenantId: string;
  fingerprint: string;
}

export type ViewRow = RequestRow & { group_index: number; org_name: string; my_decision: Decision | null };
export const toDeviceView = (row: ViewRow, now: number) =>
  deviceView(row, { groupIndex: row.group_index, orgName: row.org_name, myDecision: row.my_decision }, now);

/** A request as one of its approvers' devices sees it. */
export function deviceView(
  row: RequestRow,
  seat: { groupIndex: number; orgName: string; myDecision: Decision | null },
  now: number,
): DeviceRequestView {
  const { status, completedAt } = currentState(row, now);
  return {
    tenant_id: row.tenant_id,
    org_name: seat.orgName,
    request_id: row.id,
    status,
    action: row.action,
    action_digest: row.action_digest,
    groups_required: requiredOf(row),
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
