/**
 * Governance (docs/governance.md): approval teams, device owners, break-glass overrides with their
 * organisation settings, and the anomaly flags a decision can raise. The limits and names live here;
 * the wire schemas and their types in ./wire/governance.ts ("@sigilauth/protocol/wire").
 */

export const TEAM_LIMITS = { maxMembers: 50, maxNameLength: 100, maxMinMembers: 50 } as const;
export const OVERRIDE_LIMITS = { maxReasonLength: 1000, maxDailyLimit: 1000 } as const;

/** Bounds and defaults of the organisation's anomaly-flag settings. */
export const ANOMALY_LIMITS = {
  rubber_stamp_seconds: { minimum: 0, maximum: 600, default: 5 },
  burst_requests: { minimum: 2, maximum: 1000, default: 5 },
  burst_minutes: { minimum: 1, maximum: 1440, default: 10 },
  new_hour_min_history: { minimum: 1, maximum: 10_000, default: 10 },
} as const;

/** Bounds of decision_release.batch_seconds. */
export const BATCH_SECONDS = { minimum: 1, maximum: 900 } as const;

/** Longest IANA time zone name accepted. */
export const TIME_ZONE_MAX_LENGTH = 64;

/** The action type of an override's review request. */
export const EMERGENCY_OVERRIDE_ACTION = 'emergency_override';

export const ANOMALY_FLAG_KINDS = ['new_hour', 'rubber_stamp', 'new_network', 'new_client', 'approval_burst'] as const;

/**
 * - `new_hour`: an approval in an hour of the day (in the device's time zone) in which the device
 *   has never approved, once it has a minimum history of approvals;
 * - `rubber_stamp`: an approval within the organisation's `rubber_stamp_seconds` of the request's creation;
 * - `new_network`: a decision from a network (IPv4 /24, IPv6 /64) the device never decided from;
 * - `new_client`: a decision from a client (kind and user agent, versions aside) the device never decided from;
 * - `approval_burst`: an approval by a device that was sent `burst_requests` or more requests in `burst_minutes`.
 */
export type AnomalyFlagKind = (typeof ANOMALY_FLAG_KINDS)[number];
