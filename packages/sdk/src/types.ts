/**
 * The wire types of Sigil's integrator API, as the server sends and accepts them.
 * Request bodies accept readonly arrays so callers can pass frozen or `as const` data.
 */
import type {
  Approver,
  ApprovalGroup,
  DeviceAttestation,
  MpaAction,
  MpaRequestInput,
  MpaRequestView,
  MpaStatus,
  OverrideCreated,
  OverrideInput,
  OverrideSettings,
  OverrideStatus,
  OverrideView,
  ParamValue,
  Pictogram,
  RequestedBy,
  TeamGroup,
  TeamInput,
  TeamMemberView,
  TeamUpdate,
  TeamView,
} from '@sigilauth/protocol';

export type {
  Approver,
  ApprovalGroup,
  DeviceAttestation,
  MpaAction,
  MpaRequestInput,
  MpaStatus,
  OverrideCreated,
  OverrideInput,
  OverrideSettings,
  OverrideStatus,
  ParamValue,
  Pictogram,
  RequestedBy,
  TeamGroup,
  TeamInput,
  TeamUpdate,
};

/** An approval team, as GET /v1/teams/:slug answers. */
export type Team = TeamView;
export type TeamMember = TeamMemberView;
/** An emergency override and where its review stands. */
export type Override = OverrideView;

/** A request that has finished: every status but 'pending'. */
export type MpaTerminalStatus = Exclude<MpaStatus, 'pending'>;

/** The integrator's view of an MPA request: group-level results only, never which device decided. */
export type MpaRequest = MpaRequestView;

/** An MPA request that has finished: what awaitResult resolves with. */
export interface MpaResult extends MpaRequest {
  status: MpaTerminalStatus;
}

export interface MpaListOptions {
  status?: MpaStatus;
  /** 1 to 100; the server's default is 50. */
  limit?: number;
  /** `next_cursor` from the previous page. */
  cursor?: string;
}

export interface MpaList {
  /** Newest first. */
  data: MpaRequest[];
  /** Pass as `cursor` for the next page; null on the last page. */
  next_cursor: string | null;
}

export type PairingStatus = 'pending' | 'completed' | 'expired';

/** What POST /v1/pairings returns: show `code` and `pictogram` to the person pairing a device. */
export interface PairingCreated {
  pairing_id: string;
  /** Single-use 8-digit code, valid until expires_at (5 minutes). */
  code: string;
  status: 'pending';
  name: string | null;
  expires_at: string;
  server_id: string;
  server_public_key: string;
  /** The server's emoji fingerprint; the device shows the same five emoji. */
  pictogram: Pictogram;
}

/** GET /v1/pairings/:id. fingerprint and device_public_key are set once completed. */
export interface Pairing {
  pairing_id: string;
  status: PairingStatus;
  name: string | null;
  expires_at: string;
  created_at: string;
  completed_at?: string;
  fingerprint?: string;
  device_public_key?: string;
}

export interface PairingCreateOptions {
  /** A hint for the device's name, 1 to 100 characters. */
  name?: string;
}

export type DeviceStatus = 'active' | 'revoked';

export interface Device {
  fingerprint: string;
  device_public_key: string;
  name: string;
  paired_at: string;
  status: DeviceStatus;
  revoked_at?: string;
  /** How the key is held: `software` (sigil-device) or a passkey's attestation. */
  attestation: DeviceAttestation;
  /** Who the device belongs to, as your application names them (devices.setOwner), or null. */
  owner_id: string | null;
}

/** Options every API call accepts. */
export interface CallOptions {
  /** Aborts the call, retries and waits included; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface MpaCreateOptions extends CallOptions {
  /**
   * Sent as Idempotency-Key. By default the SDK makes a fresh random key per call, which makes
   * its own retries safe; pass your own to also make your retries (e.g. after a crash) safe.
   */
  idempotencyKey?: string;
}

export interface AwaitResultOptions extends CallOptions {
  /** Milliseconds between polls; default 3000. */
  pollInterval?: number;
  /** Give up with an AwaitTimeoutError after this many milliseconds; by default wait until the request finishes. */
  timeout?: number;
}
