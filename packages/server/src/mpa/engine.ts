import type { MpaStatus } from '@sigilauth/protocol';
import { hasExpired } from './expiry-rule.js';

/** What the engine needs of a request's immutable policy. */
export interface EnginePolicy {
  required: number;
  groupNames: readonly string[];
  expiresAt: number;
}

/** One recorded event, in the order the store serialised them. */
export type EngineEvent =
  | { kind: 'approve'; groupIndex: number; at: number; /** a flagged approval under "require one more group" */ raisesRequired?: boolean }
  | { kind: 'deny'; groupIndex: number; at: number }
  | { kind: 'cancel'; at: number };

export interface EngineState {
  status: MpaStatus;
  /** Names of satisfied groups, in the order they were satisfied. */
  groupsSatisfied: string[];
  completedAt: number | null;
  /** Set once a flagged approval raised the quorum: the number of groups now required. */
  required?: number;
}

/**
 * The quorum rules as a pure function of (policy, recorded events, now):
 * the first approval in a group satisfies it; the Mth satisfied group approves; any denial
 * rejects; a cancel cancels; reaching expiresAt while pending is a timeout. The first terminal
 * outcome is final: later events, and events at or after expiry, change nothing.
 *
 * An approval that raises the quorum (flagged, in an organisation that requires one more group
 * then) raises it before it counts, so it cannot itself reach the old quorum: the request then
 * needs required + 1 groups, at most every group. However many approvals are flagged, the
 * quorum rises once.
 */
export function evaluate(policy: EnginePolicy, events: readonly EngineEvent[], now: number): EngineState {
  const satisfied: number[] = [];
  let required = policy.required;
  const state = (status: MpaStatus, completedAt: number | null): EngineState => ({
    status,
    groupsSatisfied: satisfied.map((i) => policy.groupNames[i]!),
    completedAt,
    ...(required !== policy.required ? { required } : {}),
  });
  for (const event of events) {
    if (hasExpired(policy.expiresAt, event.at)) break;
    if (event.kind === 'cancel') return state('cancelled', event.at);
    if (event.kind === 'deny') return state('rejected', event.at);
    if (event.raisesRequired) required = raisedQuorum(policy);
    if (!satisfied.includes(event.groupIndex)) satisfied.push(event.groupIndex);
    if (satisfied.length >= required) return state('approved', event.at);
  }
  if (hasExpired(policy.expiresAt, now)) return state('timeout', policy.expiresAt);
  return state('pending', null);
}

/** The quorum once raised by a flagged approval: one more group, capped at the number of groups. */
export const raisedQuorum = (policy: Pick<EnginePolicy, 'required' | 'groupNames'>): number =>
  Math.min(policy.required + 1, policy.groupNames.length);
