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
