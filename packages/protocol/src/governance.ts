/**
 * Governance wire types shared by the server and the SDKs: the anomaly flags a decision can
 * raise (docs/governance.md, "Anomaly flags").
 */

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

/**
 * The `mpa.flagged` webhook: an approval was flagged. Group-level only, like every event the
 * application receives: the group whose approval it was, never the device or person, and never
 * a denial (flags on denials stay in the console and the audit log).
 */
export interface MpaFlaggedPayload {
  type: 'mpa.flagged';
  request_id: string;
  /** The group whose approval was flagged. */
  group: string;
  flags: AnomalyFlagKind[];
  /** Whether the flag raised the request's quorum by one group (the organisation's setting, capped at every group). */
  extra_group_required: boolean;
  groups_required: number;
  groups_total: number;
  timestamp: string;
}
