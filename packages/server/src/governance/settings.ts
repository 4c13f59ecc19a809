import { ANOMALY_LIMITS, BATCH_SECONDS } from '@sigilauth/protocol';
import type { AnomalySettings, DeviceTimeZone, GovernanceSettings, GovernanceSettingsPatch } from '@sigilauth/protocol/wire';
import { appendAudit } from '../audit/log.js';
import { ApiError, notFound } from '../http/errors.js';
import type { Database, Queryable } from '../storage/database.js';

/** An organisation's governance settings (docs/governance.md), with their defaults and bounds. */

export const DEFAULT_GOVERNANCE: GovernanceSettings = {
  time_zone: 'UTC',
  anomaly_flags: {
    rubber_stamp_seconds: ANOMALY_LIMITS.rubber_stamp_seconds.default,
    burst_requests: ANOMALY_LIMITS.burst_requests.default,
    burst_minutes: ANOMALY_LIMITS.burst_minutes.default,
    new_hour_min_history: ANOMALY_LIMITS.new_hour_min_history.default,
    flagged_approval_requires_extra_group: false,
  },
  decision_release: null,
};

interface SettingsRow extends AnomalySettings {
  time_zone: string;
  release_batch_seconds: number | null;
  release_deny_immediately: boolean;
}

const SETTING_COLUMNS =
  'time_zone, rubber_stamp_seconds, burst_requests, burst_minutes, new_hour_min_history, flagged_approval_requires_extra_group, release_batch_seconds, release_deny_immediately';
/** Every anomaly setting, in the order they are listed. */
export const ANOMALY_KEYS = [
  'rubber_stamp_seconds',
  'burst_requests',
  'burst_minutes',
  'new_hour_min_history',
  'flagged_approval_requires_extra_group',
] as const;

function fromRow(row: SettingsRow | undefined): GovernanceSettings {
  if (!row) return structuredClone(DEFAULT_GOVERNANCE);
  const { time_zone, release_batch_seconds, release_deny_immediately, ...anomaly } = row;
  return {
    time_zone,
    anomaly_flags: anomaly,
    decision_release:
      release_batch_seconds === null ? null : { batch_seconds: release_batch_seconds, deny_immediately: release_deny_immediately },
  };
}

export async function getGovernanceSettings(db: Queryable, tenantId: string): Promise<GovernanceSettings> {
  const [row] = await db.query<SettingsRow>(`SELECT ${SETTING_COLUMNS} FROM governance_settings WHERE tenant_id = $1`, [tenantId]);
  return fromRow(row);
}

/**
 * For a statement that reads an organisation's settings beside other rows: its governance_settings
 * row (as `alias`, joined with LEFT JOIN) as one JSON value, null when it has none. Turned into
 * settings by settingsFromJson.
 */
export const settingsJson = (alias: string): string =>
  `CASE WHEN ${alias}.tenant_id IS NULL THEN NULL ELSE jsonb_build_object(${SETTING_COLUMNS.split(', ')
    .map((column) => `'${column}', ${alias}.${column}`)
    .join(', ')}) END`;

export const settingsFromJson = (json: SettingsRow | null): GovernanceSettings => fromRow(json ?? undefined);

/** Whether PostgreSQL, which reads the hours, knows this IANA time zone name. */
async function isTimeZone(db: Queryable, zone: string): Promise<boolean> {
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/.test(zone)) return false;
  const [row] = await db.query<{ known: boolean }>('SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $1) AS known', [zone]);
  return row?.known === true;
}

export async function checkTimeZone(db: Queryable, zone: string): Promise<void> {
  if (!(await isTimeZone(db, zone)))
    throw new ApiError('invalid_request', `time_zone ${JSON.stringify(zone)} is not an IANA time zone name such as Europe/Paris`);
}

/** Checks bounds the schema cannot express (and that the CLI, which has no schema, needs). */
function checkAnomaly(input: Partial<AnomalySettings>): void {
  for (const [key, { minimum, maximum }] of Object.entries(ANOMALY_LIMITS)) {
    const value = input[key as keyof typeof ANOMALY_LIMITS];
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value < minimum || value > maximum)
      throw new ApiError('invalid_request', `anomaly_flags.${key} must be an integer from ${minimum} to ${maximum}`);
  }
  const flag = input.flagged_approval_requires_extra_group;
  if (flag !== undefined && typeof flag !== 'boolean')
    throw new ApiError('invalid_request', 'anomaly_flags.flagged_approval_requires_extra_group must be true or false');
}

/**
 * Changes some of an organisation's settings in one transaction with an audit entry naming what
 * changed (`governance.updated`, with `via`: api or cli). Bad input changes nothing.
 */
export async function updateGovernanceSettings(
  db: Database,
  tenantId: string,
  input: GovernanceSettingsPatch,
  via: 'api' | 'cli',
  now: number,
): Promise<GovernanceSettings> {
  checkAnomaly(input.anomaly_flags ?? {});
  const release = input.decision_release;
  const { minimum, maximum } = BATCH_SECONDS;
  if (release && (!Number.isInteger(release.batch_seconds) || release.batch_seconds < minimum || release.batch_seconds > maximum))
    throw new ApiError('invalid_request', `decision_release.batch_seconds must be an integer from ${minimum} to ${maximum}`);
  return db.transaction(async (tx) => {
    if (input.time_zone !== undefined) await checkTimeZone(tx, input.time_zone);
    const before = await getGovernanceSettings(tx, tenantId);
    const after: GovernanceSettings = {
      time_zone: input.time_zone ?? before.time_zone,
      anomaly_flags: { ...before.anomaly_flags, ...definedOnly(input.anomaly_flags ?? {}) },
      decision_release:
        release === undefined
          ? before.decision_release
          : release === null
            ? null
            : { batch_seconds: release.batch_seconds, deny_immediately: release.deny_immediately ?? false },
    };
    const a = after.anomaly_flags;
    await tx.query(
      `INSERT INTO governance_settings (tenant_id, ${SETTING_COLUMNS}, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       ON CONFLICT (tenant_id) DO UPDATE SET time_zone = $2, rubber_stamp_seconds = $3, burst_requests = $4, burst_minutes = $5,
         new_hour_min_history = $6, flagged_approval_requires_extra_group = $7, release_batch_seconds = $8,
         release_deny_immediately = $9, updated_at = $10`,
      [
        tenantId,
        after.time_zone,
        a.rubber_stamp_seconds,
        a.burst_requests,
        a.burst_minutes,
        a.new_hour_min_history,
        a.flagged_approval_requires_extra_group,
        after.decision_release?.batch_seconds ?? null,
        after.decision_release?.deny_immediately ?? false,
        new Date(now),
      ],
    );
    const changes: Record<string, { from: unknown; to: unknown }> = {};
    if (before.time_zone !== after.time_zone) changes.time_zone = { from: before.time_zone, to: after.time_zone };
    for (const key of ANOMALY_KEYS) {
      if (before.anomaly_flags[key] !== a[key]) changes[`anomaly_flags.${key}`] = { from: before.anomaly_flags[key], to: a[key] };
    }
    if (JSON.stringify(before.decision_release) !== JSON.stringify(after.decision_release))
      changes.decision_release = { from: before.decision_release, to: after.decision_release };
    if (Object.keys(changes).length > 0) await appendAudit(tx, tenantId, 'governance.updated', { changes, via });
    return after;
  });
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Sets (or with null clears) a device's own time zone, with an audit entry. */
export async function setDeviceTimeZone(
  db: Database,
  tenantId: string,
  fingerprint: string,
  zone: string | null,
  via: 'api' | 'cli',
): Promise<DeviceTimeZone> {
  return db.transaction(async (tx) => {
    if (zone !== null) await checkTimeZone(tx, zone);
    const [row] = await tx.query<{ before: string | null }>(
      `UPDATE devices d SET time_zone = $3 FROM (SELECT time_zone AS before FROM devices WHERE tenant_id = $1 AND fingerprint = $2 FOR UPDATE) old
        WHERE d.tenant_id = $1 AND d.fingerprint = $2 RETURNING old.before`,
      [tenantId, fingerprint, zone],
    );
    if (!row) throw notFound('device');
    if (row.before !== zone) await appendAudit(tx, tenantId, 'device.time_zone_set', { fingerprint, from: row.before, to: zone, via });
    const org = await getGovernanceSettings(tx, tenantId);
    return { fingerprint, time_zone: zone, effective_time_zone: zone ?? org.time_zone };
  });
}

/** A device's own time zone and the one its hours are read in (its own, else its organisation's). */
export async function deviceTimeZone(db: Queryable, tenantId: string, fingerprint: string): Promise<DeviceTimeZone> {
  const [device] = await db.query<{ time_zone: string | null }>('SELECT time_zone FROM devices WHERE tenant_id = $1 AND fingerprint = $2', [
    tenantId,
    fingerprint,
  ]);
  if (!device) throw notFound('device');
  const org = await getGovernanceSettings(db, tenantId);
  return { fingerprint, time_zone: device.time_zone, effective_time_zone: device.time_zone ?? org.time_zone };
}
