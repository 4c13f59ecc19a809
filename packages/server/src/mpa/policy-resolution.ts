import { isTeamGroup, type ApprovalGroup, type ErrorCode, type MpaPolicy, type RequestedBy } from '@sigilauth/protocol';
import { ApiError } from '../http/errors.js';
import type { Queryable } from '../storage/database.js';
import { teamsForRequest } from '../teams/teams.js';

/**
 * Turns a validated request into the policy a request freezes (docs/governance.md): each team
 * group becomes its team's active members as of now, and when the request names its requester,
 * the requester's own devices are left out of every group. Refuses, with a 400 that says why, a
 * team below its minimum size and a request that could no longer reach its quorum.
 */

/** A group as a request stores it: its approvers, and the team it was resolved from, if any. */
export type FrozenGroup = ApprovalGroup & { team?: string };

export interface ResolvedPolicy extends Omit<MpaPolicy, 'groups'> {
  groups: FrozenGroup[];
  /** The requester's devices that were left out. */
  excluded: string[];
}

const refuse = (code: ErrorCode, detail: string) => new ApiError(code, `Invalid MPA request: ${detail}`);

/** The requester's devices: the one named, and every device linked to the same owner. */
async function requesterDevices(tx: Queryable, tenantId: string, requestedBy: RequestedBy | undefined): Promise<Set<string>> {
  if (!requestedBy) return new Set();
  const rows =
    'fingerprint' in requestedBy
      ? await tx.query<{ fingerprint: string }>(
          `SELECT d.fingerprint FROM devices d
            WHERE d.tenant_id = $1 AND d.owner_id = (SELECT owner_id FROM devices WHERE tenant_id = $1 AND fingerprint = $2)`,
          [tenantId, requestedBy.fingerprint],
        )
      : await tx.query<{ fingerprint: string }>('SELECT fingerprint FROM devices WHERE tenant_id = $1 AND owner_id = $2', [
          tenantId,
          requestedBy.id,
        ]);
  const devices = new Set(rows.map((r) => r.fingerprint));
  if ('fingerprint' in requestedBy) devices.add(requestedBy.fingerprint);
  return devices;
}

export async function resolvePolicy(tx: Queryable, tenantId: string, policy: MpaPolicy): Promise<ResolvedPolicy> {
  const slugs = policy.groups.filter(isTeamGroup).map((g) => g.team);
  const teams = await teamsForRequest(tx, tenantId, slugs);
  const excluded = await requesterDevices(tx, tenantId, policy.requested_by);
  const left = new Set<string>();

  const groups: FrozenGroup[] = policy.groups.map((group) => {
    if (!isTeamGroup(group)) {
      const approvers = group.approvers.filter((a) => !excluded.has(a.fingerprint));
      group.approvers.forEach((a) => excluded.has(a.fingerprint) && left.add(a.fingerprint));
      return { name: group.name, approvers };
    }
    const team = teams.get(group.team);
    if (!team) throw refuse('unknown_team', `group "${group.name}" names team "${group.team}", which this organisation does not have`);
    const eligible = team.active.filter((m) => !excluded.has(m.fingerprint));
    team.active.forEach((m) => excluded.has(m.fingerprint) && left.add(m.fingerprint));
    if (eligible.length < team.min_members) {
      const notCounted = team.active.length - eligible.length;
      throw refuse(
        'team_below_minimum',
        `team "${group.team}" (group "${group.name}") has ${eligible.length} active member${eligible.length === 1 ? '' : 's'} who can approve` +
          `${notCounted > 0 ? ` (${notCounted} of the requester's devices not counted)` : ''}; it requires at least ${team.min_members}`,
      );
    }
    return {
      name: group.name,
      team: group.team,
      approvers: eligible.map((m) => ({ fingerprint: m.fingerprint, device_public_key: m.device_public_key })),
    };
  });

  const groupOf = new Map<string, string>();
  for (const group of groups) {
    for (const { fingerprint } of group.approvers) {
      const other = groupOf.get(fingerprint);
      if (other !== undefined) {
        throw refuse(
          'invalid_request',
          `device ${fingerprint} is in group "${other}" and group "${group.name}"; a device may count for one group only`,
        );
      }
      groupOf.set(fingerprint, group.name);
    }
  }

  const empty = groups.filter((g) => g.approvers.length === 0);
  const satisfiable = groups.length - empty.length;
  if (satisfiable < policy.required) {
    const why = empty
      .map(
        (g) =>
          `"${g.name}" has no one who can approve (${g.team ? `team "${g.team}" has no active member outside the requester` : "only the requester's devices"})`,
      )
      .join('; ');
    throw refuse(
      'unsatisfiable_request',
      `required is ${policy.required} but only ${satisfiable} of ${groups.length} groups can be satisfied: ${why}`,
    );
  }
  return { ...policy, groups, excluded: [...left].sort() };
}
