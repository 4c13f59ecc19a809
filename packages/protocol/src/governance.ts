/**
 * Governance wire types (docs/governance.md): approval teams, device owners, break-glass
 * overrides with their organisation settings, and the anomaly flags a decision can raise.
 * Shared by the server and the SDKs.
 */
import type { MpaAction, MpaRequestView, MpaStatus, RequestedBy } from './mpa.js';

export const TEAM_LIMITS = { maxMembers: 50, maxNameLength: 100, maxMinMembers: 50 } as const;
export const OVERRIDE_LIMITS = { maxReasonLength: 1000, maxDailyLimit: 1000 } as const;

/** Body of POST /v1/teams. */
export interface TeamInput {
  slug: string;
  name: string;
  /** Fingerprints of the organisation's paired devices. */
  members?: string[];
  /** A request naming this team is refused when fewer of its members can approve (default 1). */
  min_members?: number;
}

/** Body of PATCH /v1/teams/:slug: every field optional; members are added and removed by fingerprint. */
export interface TeamUpdate {
  name?: string;
  min_members?: number;
  add_members?: string[];
  remove_members?: string[];
}

export interface TeamMemberView {
  fingerprint: string;
  name: string;
  status: 'active' | 'revoked';
  owner_id: string | null;
}

export interface TeamView {
  slug: string;
  name: string;
  min_members: number;
  members: TeamMemberView[];
  /** Members a new request would resolve to (not revoked). */
  active_members: number;
  created_at: string;
  updated_at: string;
}

/** Body of POST /v1/overrides. */
export interface OverrideInput {
  reason: string;
  /** The action performed without approval. */
  action: MpaAction;
  /** Optional: who performed it; their own devices do not review it. */
  requested_by?: RequestedBy;
}

export type OverrideStatus = 'awaiting_review' | 'reviewed';

export interface OverrideView {
  override_id: string;
  status: OverrideStatus;
  reason: string;
  action: Required<MpaAction>;
  requested_by: RequestedBy | null;
  created_at: string;
  reviewed_at: string | null;
  review_request_id: string;
  /** The review request's status: approved (the override is endorsed), rejected, timeout or cancelled once it ends. */
  review_status: MpaStatus;
}

/** POST /v1/overrides answers with the override and its review request. */
export interface OverrideCreated extends OverrideView {
  review_request: MpaRequestView;
}

/** GET and PUT /v1/overrides/settings. */
export interface OverrideSettings {
  /** Off until review teams are chosen. */
  enabled: boolean;
  /** Most overrides in any 24 hours; null: no limit. */
  daily_limit: number | null;
  /** Slugs of the teams that review each override, one group each. */
  review_teams: string[];
  /** How many of those groups must endorse an override. */
  review_required: number;
  /** 60-900; default 900. */
  review_expires_in_seconds: number;
}

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
