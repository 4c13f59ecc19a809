import { TEAM_LIMITS } from '@sigilauth/protocol';
import type { TeamInput, TeamMemberView, TeamUpdate, TeamView } from '@sigilauth/protocol/wire';
import { appendAudit } from '../audit/log.js';
import { recordEvent } from '../events/outbox.js';
import { ApiError, notFound } from '../http/errors.js';
import type { Database, Queryable } from '../storage/database.js';

/**
 * Approval teams: named sets of an organisation's devices that a request's group can name
 * instead of listing approvers. Every change is an audit entry and a webhook event.
 */

interface TeamRow {
  slug: string;
  name: string;
  min_members: number;
  created_at: Date;
  updated_at: Date;
}
interface MemberRow {
  slug: string;
  fingerprint: string;
  name: string;
  revoked_at: Date | null;
  owner_id: string | null;
}

const toView = (team: TeamRow, members: MemberRow[]): TeamView => {
  const list: TeamMemberView[] = members
    .filter((m) => m.slug === team.slug)
    .map((m) => ({ fingerprint: m.fingerprint, name: m.name, status: m.revoked_at ? 'revoked' : 'active', owner_id: m.owner_id }));
  return {
    slug: team.slug,
    name: team.name,
    min_members: team.min_members,
    members: list,
    active_members: list.filter((m) => m.status === 'active').length,
    created_at: team.created_at.toISOString(),
    updated_at: team.updated_at.toISOString(),
  };
};

async function membersOf(db: Queryable, tenantId: string, slugs: string[]): Promise<MemberRow[]> {
  return db.query<MemberRow>(
    `SELECT m.slug, m.fingerprint, d.name, d.revoked_at, d.owner_id
       FROM team_members m JOIN devices d ON d.tenant_id = m.tenant_id AND d.fingerprint = m.fingerprint
      WHERE m.tenant_id = $1 AND m.slug = ANY($2::text[]) ORDER BY m.added_at, m.fingerprint`,
    [tenantId, slugs],
  );
}

export async function listTeams(db: Queryable, tenantId: string): Promise<TeamView[]> {
  const teams = await db.query<TeamRow>(
    'SELECT slug, name, min_members, created_at, updated_at FROM teams WHERE tenant_id = $1 ORDER BY slug',
    [tenantId],
  );
  const members = await membersOf(
    db,
    tenantId,
    teams.map((t) => t.slug),
  );
  return teams.map((t) => toView(t, members));
}

export async function getTeam(db: Queryable, tenantId: string, slug: string, lock = false): Promise<TeamView> {
  const [team] = await db.query<TeamRow>(
    `SELECT slug, name, min_members, created_at, updated_at FROM teams WHERE tenant_id = $1 AND slug = $2${lock ? ' FOR UPDATE' : ''}`,
    [tenantId, slug],
  );
  if (!team) throw notFound(`team ${slug}`);
  return toView(team, await membersOf(db, tenantId, [slug]));
}

/** Refuses fingerprints that are not active devices of this organisation. */
async function checkNewMembers(tx: Queryable, tenantId: string, fingerprints: string[]): Promise<void> {
  if (new Set(fingerprints).size !== fingerprints.length) throw new ApiError('invalid_request', 'a device is listed twice');
  const rows = await tx.query<{ fingerprint: string; revoked_at: Date | null }>(
    'SELECT fingerprint, revoked_at FROM devices WHERE tenant_id = $1 AND fingerprint = ANY($2::text[])',
    [tenantId, fingerprints],
  );
  const found = new Map(rows.map((r) => [r.fingerprint, r]));
  for (const fp of fingerprints) {
    const device = found.get(fp);
    if (!device) throw new ApiError('invalid_request', `device ${fp} is not paired with this organisation`);
    if (device.revoked_at) throw new ApiError('invalid_request', `device ${fp} has been revoked`);
  }
}

async function addMembers(tx: Queryable, tenantId: string, slug: string, fingerprints: string[], now: number): Promise<void> {
  await tx.query(
    `INSERT INTO team_members (tenant_id, slug, fingerprint, added_at) SELECT $1, $2, f, $4 FROM unnest($3::text[]) AS f
     ON CONFLICT DO NOTHING`,
    [tenantId, slug, fingerprints, new Date(now)],
  );
}

async function recordChange(
  tx: Queryable,
  tenantId: string,
  type: 'team.created' | 'team.updated' | 'team.deleted',
  team: TeamView,
  change: { added: string[]; removed: string[] },
  now: number,
): Promise<void> {
  const fields = {
    slug: team.slug,
    name: team.name,
    min_members: team.min_members,
    members: team.members.map((m) => m.fingerprint),
    ...change,
  };
  await appendAudit(tx, tenantId, type, fields);
  await recordEvent(tx, tenantId, type, { ...fields, timestamp: new Date(now).toISOString() });
}

export async function createTeam(db: Database, tenantId: string, input: TeamInput, now: number): Promise<TeamView> {
  const members = input.members ?? [];
  if (members.length > TEAM_LIMITS.maxMembers)
    throw new ApiError('invalid_request', `a team has at most ${TEAM_LIMITS.maxMembers} members`);
  return db.transaction(async (tx) => {
    await checkNewMembers(tx, tenantId, members);
    const [inserted] = await tx.query<{ slug: string }>(
      `INSERT INTO teams (tenant_id, slug, name, min_members, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)
       ON CONFLICT DO NOTHING RETURNING slug`,
      [tenantId, input.slug, input.name, input.min_members ?? 1, new Date(now)],
    );
    if (!inserted) throw new ApiError('team_exists', `a team with slug ${input.slug} already exists`);
    await addMembers(tx, tenantId, input.slug, members, now);
    const team = await getTeam(tx, tenantId, input.slug);
    await recordChange(tx, tenantId, 'team.created', team, { added: members, removed: [] }, now);
    return team;
  });
}

export async function updateTeam(db: Database, tenantId: string, slug: string, update: TeamUpdate, now: number): Promise<TeamView> {
  const add = update.add_members ?? [];
  const remove = update.remove_members ?? [];
  if (add.some((f) => remove.includes(f))) throw new ApiError('invalid_request', 'a device cannot be both added and removed');
  return db.transaction(async (tx) => {
    const before = await getTeam(tx, tenantId, slug, true);
    const present = new Set(before.members.map((m) => m.fingerprint));
    const added = add.filter((f) => !present.has(f));
    const removed = remove.filter((f) => present.has(f));
    await checkNewMembers(tx, tenantId, added);
    if (present.size + added.length - removed.length > TEAM_LIMITS.maxMembers) {
      throw new ApiError('invalid_request', `a team has at most ${TEAM_LIMITS.maxMembers} members`);
    }
    await addMembers(tx, tenantId, slug, added, now);
    await tx.query('DELETE FROM team_members WHERE tenant_id = $1 AND slug = $2 AND fingerprint = ANY($3::text[])', [
      tenantId,
      slug,
      removed,
    ]);
    await tx.query(
      'UPDATE teams SET name = coalesce($3, name), min_members = coalesce($4, min_members), updated_at = $5 WHERE tenant_id = $1 AND slug = $2',
      [tenantId, slug, update.name ?? null, update.min_members ?? null, new Date(now)],
    );
    const team = await getTeam(tx, tenantId, slug);
    await recordChange(tx, tenantId, 'team.updated', team, { added, removed }, now);
    return team;
  });
}

/**
 * Deletes a team; requests that named it keep the members they froze. A team that reviews
 * emergency overrides is refused: the next override, made in an emergency, would fail. Saving the
 * override settings locks the teams they name, so the check below sees settings saved meanwhile.
 */
export async function deleteTeam(db: Database, tenantId: string, slug: string, now: number): Promise<{ slug: string; deleted: true }> {
  return db.transaction(async (tx) => {
    const team = await getTeam(tx, tenantId, slug, true);
    const [reviewing] = await tx.query('SELECT 1 FROM override_settings WHERE tenant_id = $1 AND $2 = ANY(review_teams)', [tenantId, slug]);
    if (reviewing) {
      throw new ApiError(
        'team_in_use',
        `team "${slug}" reviews emergency overrides: take it out of the override settings (the console's Overrides page, or PUT /v1/overrides/settings) before deleting it`,
      );
    }
    await tx.query('DELETE FROM teams WHERE tenant_id = $1 AND slug = $2', [tenantId, slug]);
    await recordChange(tx, tenantId, 'team.deleted', team, { added: [], removed: team.members.map((m) => m.fingerprint) }, now);
    return { slug, deleted: true as const };
  });
}

/** A team as a request resolves it: its settings and its members that are not revoked, with their keys and owners. */
export interface ResolvableTeam {
  slug: string;
  name: string;
  min_members: number;
  active: Array<{ fingerprint: string; device_public_key: string; owner_id: string | null }>;
}

export async function teamsForRequest(tx: Queryable, tenantId: string, slugs: string[]): Promise<Map<string, ResolvableTeam>> {
  if (slugs.length === 0) return new Map();
  const teams = await tx.query<{ slug: string; name: string; min_members: number }>(
    'SELECT slug, name, min_members FROM teams WHERE tenant_id = $1 AND slug = ANY($2::text[]) FOR SHARE',
    [tenantId, slugs],
  );
  const members = await tx.query<{ slug: string; fingerprint: string; public_key: string; owner_id: string | null }>(
    `SELECT m.slug, m.fingerprint, d.public_key, d.owner_id
       FROM team_members m JOIN devices d ON d.tenant_id = m.tenant_id AND d.fingerprint = m.fingerprint
      WHERE m.tenant_id = $1 AND m.slug = ANY($2::text[]) AND d.revoked_at IS NULL ORDER BY m.added_at, m.fingerprint`,
    [tenantId, slugs],
  );
  return new Map(
    teams.map((t) => [
      t.slug,
      {
        ...t,
        active: members
          .filter((m) => m.slug === t.slug)
          .map((m) => ({ fingerprint: m.fingerprint, device_public_key: m.public_key, owner_id: m.owner_id })),
      },
    ]),
  );
}
