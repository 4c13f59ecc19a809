import { MPA_LIMITS } from '@sigilauth/protocol';
import type { OverrideSettings } from '@sigilauth/protocol/wire';
import { appendAudit } from '../audit/log.js';
import { ApiError } from '../http/errors.js';
import type { Database, Queryable } from '../storage/database.js';

/** An organisation's break-glass settings: whether overrides are allowed, how many a day, and who reviews them. */

interface SettingsRow {
  enabled: boolean;
  daily_limit: number | null;
  review_teams: string[];
  review_required: number;
  review_expires_in_seconds: number;
}

const toSettings = (row: SettingsRow): OverrideSettings => ({
  enabled: row.enabled,
  daily_limit: row.daily_limit,
  review_teams: row.review_teams,
  review_required: row.review_required,
  review_expires_in_seconds: row.review_expires_in_seconds,
});

/** The settings, defaults if never set; with `lock`, the row stays locked until commit (overrides are counted under it). */
export async function overrideSettings(tx: Queryable, tenantId: string, lock = false): Promise<OverrideSettings> {
  if (lock) await tx.query('INSERT INTO override_settings (tenant_id) VALUES ($1) ON CONFLICT DO NOTHING', [tenantId]);
  const [row] = await tx.query<SettingsRow>(
    `SELECT enabled, daily_limit, review_teams, review_required, review_expires_in_seconds FROM override_settings WHERE tenant_id = $1${lock ? ' FOR UPDATE' : ''}`,
    [tenantId],
  );
  return toSettings(
    row ?? {
      enabled: false,
      daily_limit: null,
      review_teams: [],
      review_required: 1,
      review_expires_in_seconds: MPA_LIMITS.maxExpiresInSeconds,
    },
  );
}

export async function saveOverrideSettings(db: Database, tenantId: string, settings: OverrideSettings): Promise<OverrideSettings> {
  const teams = settings.review_teams;
  if (new Set(teams).size !== teams.length) throw new ApiError('invalid_request', 'review_teams lists a team twice');
  if (settings.enabled && teams.length === 0) {
    throw new ApiError('invalid_request', 'overrides can be enabled only with at least one review team');
  }
  if (teams.length > 0 && settings.review_required > teams.length) {
    throw new ApiError(
      'invalid_request',
      `review_required (${settings.review_required}) cannot exceed the number of review teams (${teams.length})`,
    );
  }
  return db.transaction(async (tx) => {
    // Locked until commit, so that a team cannot be deleted while it is being named (deleteTeam).
    const found = await tx.query<{ slug: string }>(
      'SELECT slug FROM teams WHERE tenant_id = $1 AND slug = ANY($2::text[]) ORDER BY slug FOR KEY SHARE',
      [tenantId, teams],
    );
    const missing = teams.find((t) => !found.some((f) => f.slug === t));
    if (missing !== undefined)
      throw new ApiError('unknown_team', `review_teams names team "${missing}", which this organisation does not have`);
    await tx.query(
      `INSERT INTO override_settings (tenant_id, enabled, daily_limit, review_teams, review_required, review_expires_in_seconds, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, now())
       ON CONFLICT (tenant_id) DO UPDATE SET enabled = $2, daily_limit = $3, review_teams = $4, review_required = $5,
         review_expires_in_seconds = $6, updated_at = now()`,
      [tenantId, settings.enabled, settings.daily_limit, teams, settings.review_required, settings.review_expires_in_seconds],
    );
    await appendAudit(tx, tenantId, 'override.settings_updated', { ...settings });
    return overrideSettings(tx, tenantId);
  });
}
