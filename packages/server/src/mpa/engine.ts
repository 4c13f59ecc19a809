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
  { kind: 'approve'; groupIndex: number; at: number } | { kind: 'deny'; groupIndex: number; at: number } | { kind: 'cancel'; at: number };

export interface EngineState {
  status: MpaStatus;
  /** Names of satisfied groups, in the order they were satisfied. */
  groupsSatisfied: string[];
  completedAt: number | null;
}

/**
 * The quorum rules as a pure function of (policy, recorded events, now):
 * the first approval in a group satisfies it; the Mth satisfied group approves; any denial
 * rejects; a cancel cancels; reaching expiresAt while pending is a timeout. The first terminal
 * outcome is final: later events, and events at or after expiry, change nothing.
 */
export function evaluate(policy: EnginePolicy, events: readonly EngineEvent[], now: number): EngineState {
  const satisfied: number[] = [];
  const names = () => satisfied.map((i) => policy.groupNames[i]!);
  for (const event of events) {
    if (hasExpired(policy.expiresAt, event.at)) break;
    if (event.kind === 'cancel') return { status: 'cancelled', groupsSatisfied: names(), completedAt: event.at };
    if (event.kind === 'deny') return { status: 'rejected', groupsSatisfied: names(), completedAt: event.at };
    if (!satisfied.includes(event.groupIndex)) satisfied.push(event.groupIndex);
    if (satisfied.length >= policy.required) return { status: 'approved', groupsSatisfied: names(), completedAt: event.at };
  }
  if (hasExpired(policy.expiresAt, now)) return { status: 'timeout', groupsSatisfied: names(), completedAt: policy.expiresAt };
  return { status: 'pending', groupsSatisfied: names(), completedAt: null };
}
