import type { AnomalyFlagKind, Decision } from '@sigilauth/protocol';
import type { AnomalySettings, AnomalyFlagView, MpaFlaggedEvent } from '@sigilauth/protocol/wire';
import { appendAudit } from '../audit/log.js';
import { recordEvent } from '../events/outbox.js';
import { clientNetworks } from '../pairing/client-network.js';
import type { Queryable } from '../storage/database.js';
import { ANOMALY_KEYS } from './settings.js';
import { hasSubscribers, OPT_IN_EVENT_TYPES, subscribes } from '../webhooks/deliveries.js';

/**
 * Anomaly flags (docs/governance.md): what is unusual about one decision, judged against the
 * deciding device's own history. Flags never block a decision; they are recorded, shown, audited
 * and (for approvals) sent to the application as `mpa.flagged`, and may raise the request's
 * quorum when the organisation asks for that.
 */

/** Where a decision came from, as the decision route saw it. */
export interface DecisionOrigin {
  /** The client's address (after the trusted proxies). */
  ip: string;
  userAgent: string | undefined;
  /** How the decision was signed: a device key (sigil-device, an SDK) or a passkey (the web approver). */
  via: 'device_key' | 'passkey';
}

/** What a decision's origin is compared by: the client's /24 or /64, and its kind and user agent without versions. */
export function originKeys(origin: DecisionOrigin): { network: string; client: string } {
  const agent = (origin.userAgent ?? '')
    .replace(/\/[^\s;)]*/g, '')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 200);
  return { network: clientNetworks(origin.ip).narrow, client: agent ? `${origin.via}: ${agent}` : origin.via };
}

export interface DetectedFlag {
  kind: AnomalyFlagKind;
  details: Record<string, unknown>;
}

export interface DecisionFacts {
  /** The device's organisation, whose endpoints an `mpa.flagged` event would reach. */
  tenantId: string;
  fingerprint: string;
  /** The zone hours are read in: the device's own, else its organisation's. */
  timeZone: string;
  decision: Decision;
  /** When the decision is recorded. */
  at: number;
  requestCreatedAt: number;
  network: string;
  client: string;
}

/** The newest approvals the hour of day is judged against (or `new_hour_min_history`, if more). */
export const HOUR_HISTORY_APPROVALS = 1_000;

interface HistoryRow {
  hour: number;
  approved_in_hour: boolean;
  /** Approvals in the hour window, counted only when none was in this hour. */
  approvals: number | null;
  has_origin: boolean;
  same_network: boolean;
  same_client: boolean;
  /** Requests naming the device in the burst window, counted up to `burst_requests`. */
  recent_requests: number;
  /** Whether an endpoint of the organisation receives `mpa.flagged`. */
  flagged_subscribed: boolean;
}

/** A decision's flags, and whether any endpoint would receive the `mpa.flagged` event of a flagged approval. */
export interface Judgement {
  flags: DetectedFlag[];
  flaggedSubscribed: boolean;
}

/**
 * The flags a decision raises, read in one statement from the device's decisions recorded before
 * it: run it before the decision is inserted. Each part is an index lookup or a scan with a
 * limit, so judging costs the same whatever the device's history. The same statement asks whether
 * any endpoint subscribes to `mpa.flagged`, which recordFlags would otherwise read.
 */
export async function detectFlags(tx: Queryable, settings: AnomalySettings, f: DecisionFacts): Promise<Judgement> {
  // A device key is paired with one organisation for good, so its fingerprint names its decisions and approvals.
  const approvals = `SELECT decided_at FROM mpa_decisions WHERE fingerprint = $1 AND decision = 'approve' ORDER BY decided_at DESC LIMIT $7`;
  const hourOf = (t: string) => `extract(hour FROM ${t} AT TIME ZONE $3)::int`;
  // OFFSET 0 keeps the inner query whole, so approved_in_hour is evaluated once.
  const [h] = await tx.query<HistoryRow>(
    `SELECT j.*, CASE WHEN NOT j.approved_in_hour THEN (SELECT count(*)::int FROM (${approvals}) recent) END AS approvals
       FROM (SELECT ${hourOf('$2::timestamptz')} AS hour,
                    EXISTS (SELECT 1 FROM (${approvals}) recent WHERE ${hourOf('recent.decided_at')} = ${hourOf('$2::timestamptz')})
                      AS approved_in_hour,
                    EXISTS (SELECT 1 FROM mpa_decisions WHERE fingerprint = $1 AND network IS NOT NULL) AS has_origin,
                    EXISTS (SELECT 1 FROM mpa_decisions WHERE fingerprint = $1 AND network = $4) AS same_network,
                    EXISTS (SELECT 1 FROM mpa_decisions WHERE fingerprint = $1 AND client = $5) AS same_client,
                    (SELECT count(*)::int FROM (SELECT 1 FROM mpa_approvers
                       WHERE fingerprint = $1 AND created_at > $6 AND created_at <= $2 LIMIT $8) burst)
                      AS recent_requests,
                    EXISTS (SELECT 1 FROM webhook_endpoints e WHERE ${subscribes('$9', '$10', '$11')}) AS flagged_subscribed
             OFFSET 0) j`,
    [
      f.fingerprint,
      new Date(f.at),
      f.timeZone,
      f.network,
      f.client,
      new Date(f.at - settings.burst_minutes * 60_000),
      Math.max(HOUR_HISTORY_APPROVALS, settings.new_hour_min_history),
      settings.burst_requests,
      f.tenantId,
      'mpa.flagged',
      OPT_IN_EVENT_TYPES.includes('mpa.flagged'),
    ],
  );
  if (!h) return { flags: [], flaggedSubscribed: false };
  const flags: DetectedFlag[] = [];
  if (f.decision === 'approve') {
    if (!h.approved_in_hour && (h.approvals ?? 0) >= settings.new_hour_min_history)
      flags.push({ kind: 'new_hour', details: { hour: h.hour, time_zone: f.timeZone, prior_approvals: h.approvals } });
    const seconds = (f.at - f.requestCreatedAt) / 1000;
    if (settings.rubber_stamp_seconds > 0 && seconds < settings.rubber_stamp_seconds)
      flags.push({ kind: 'rubber_stamp', details: { seconds_after_creation: seconds, threshold_seconds: settings.rubber_stamp_seconds } });
    if (h.recent_requests >= settings.burst_requests)
      flags.push({ kind: 'approval_burst', details: { requests_at_least: h.recent_requests, minutes: settings.burst_minutes } });
  }
  if (h.has_origin && !h.same_network) flags.push({ kind: 'new_network', details: { network: f.network } });
  if (h.has_origin && !h.same_client) flags.push({ kind: 'new_client', details: { client: f.client } });
  return { flags, flaggedSubscribed: h.flagged_subscribed };
}

/** What a decision is judged by: its organisation's anomaly settings and the zone hours are read in. */
export interface JudgedBy {
  anomaly: AnomalySettings;
  timeZone: string;
}

/**
 * What each device's last decision in this process was judged by, so that its next decision can
 * read its history in the round trip that takes its request's lock. A guess only: the decision
 * compares it with the settings read under the lock and reads the history again if they differ.
 */
export class JudgedByGuesses {
  private readonly byDevice = new Map<string, JudgedBy>();

  constructor(private readonly limit = 10_000) {}

  get(fingerprint: string): JudgedBy | undefined {
    return this.byDevice.get(fingerprint);
  }

  remember(fingerprint: string, judgedBy: JudgedBy): void {
    this.byDevice.delete(fingerprint);
    if (this.byDevice.size >= this.limit) this.byDevice.delete(this.byDevice.keys().next().value!);
    this.byDevice.set(fingerprint, judgedBy);
  }

  static same(a: JudgedBy, b: JudgedBy): boolean {
    return a.timeZone === b.timeZone && ANOMALY_KEYS.every((key) => a.anomaly[key] === b.anomaly[key]);
  }
}

export interface FlaggedDecision {
  tenantId: string;
  requestId: string;
  fingerprint: string;
  groupIndex: number;
  group: string;
  decision: Decision;
  at: number;
  /** Whether the flag raised the request's quorum. */
  extraGroupRequired: boolean;
  groupsRequired: number;
  groupsTotal: number;
}

/**
 * Records a decision's flags in the caller's transaction: one row each, one audit entry naming
 * the device, and for an approval the group-level `mpa.flagged` event. A flagged denial is never
 * sent to the application: naming its group would tell which approvers denied. `subscribed`:
 * whether any endpoint receives `mpa.flagged`, as detectFlags read it; read here when not given.
 */
export async function recordFlags(tx: Queryable, d: FlaggedDecision, flags: readonly DetectedFlag[], subscribed?: boolean): Promise<void> {
  if (flags.length === 0) return;
  await tx.write(
    `INSERT INTO mpa_flags (tenant_id, request_id, fingerprint, group_index, decision, kind, details, created_at)
     SELECT $1, $2, $3, $4, $5, k, dt, $8 FROM unnest($6::text[], $7::jsonb[]) AS t(k, dt)`,
    [
      d.tenantId,
      d.requestId,
      d.fingerprint,
      d.groupIndex,
      d.decision,
      flags.map((f) => f.kind),
      flags.map((f) => JSON.stringify(f.details)),
      new Date(d.at),
    ],
  );
  await appendAudit(
    tx,
    d.tenantId,
    'mpa.flagged',
    {
      request_id: d.requestId,
      fingerprint: d.fingerprint,
      group: d.group,
      decision: d.decision,
      flags: flags.map((f) => ({ kind: f.kind, ...f.details })),
      extra_group_required: d.extraGroupRequired,
    },
    d.requestId,
  );
  // Like audit.head, written only when some endpoint subscribes: it is never sent otherwise.
  if (d.decision !== 'approve' || !(subscribed ?? (await hasSubscribers(tx, d.tenantId, 'mpa.flagged')))) return;
  const payload: Omit<MpaFlaggedEvent, 'type'> = {
    request_id: d.requestId,
    group: d.group,
    flags: flags.map((f) => f.kind),
    extra_group_required: d.extraGroupRequired,
    groups_required: d.groupsRequired,
    groups_total: d.groupsTotal,
    timestamp: new Date(d.at).toISOString(),
  };
  await recordEvent(tx, d.tenantId, 'mpa.flagged', { ...payload }, d.requestId);
}

interface FlagRow {
  request_id: string;
  fingerprint: string;
  device_name: string | null;
  group_index: number;
  groups: Array<{ name: string }>;
  decision: Decision;
  kind: AnomalyFlagKind;
  details: Record<string, unknown>;
  created_at: Date;
}

const toFlagView = (r: FlagRow): AnomalyFlagView => ({
  request_id: r.request_id,
  fingerprint: r.fingerprint,
  device_name: r.device_name,
  group: r.groups[r.group_index]?.name ?? '',
  decision: r.decision,
  kind: r.kind,
  details: r.details,
  created_at: r.created_at.toISOString(),
});

const FLAG_SELECT = `SELECT f.request_id, f.fingerprint, dev.name AS device_name, f.group_index, r.groups, f.decision, f.kind, f.details, f.created_at
  FROM mpa_flags f JOIN mpa_requests r ON r.id = f.request_id
  LEFT JOIN devices dev ON dev.tenant_id = f.tenant_id AND dev.fingerprint = f.fingerprint`;

/** A request's flags, oldest first (null when the organisation has no such request). */
export async function requestFlags(db: Queryable, tenantId: string, requestId: string): Promise<AnomalyFlagView[] | null> {
  const [exists] = await db.query('SELECT 1 FROM mpa_requests WHERE id = $1 AND tenant_id = $2', [requestId, tenantId]);
  if (!exists) return null;
  const rows = await db.query<FlagRow>(`${FLAG_SELECT} WHERE f.request_id = $1 AND f.tenant_id = $2 ORDER BY f.id`, [requestId, tenantId]);
  return rows.map(toFlagView);
}

/** A device's most recent flags, newest first. */
export async function deviceFlags(db: Queryable, tenantId: string, fingerprint: string, limit: number): Promise<AnomalyFlagView[]> {
  const rows = await db.query<FlagRow>(`${FLAG_SELECT} WHERE f.tenant_id = $1 AND f.fingerprint = $2 ORDER BY f.id DESC LIMIT $3`, [
    tenantId,
    fingerprint,
    limit,
  ]);
  return rows.map(toFlagView);
}
