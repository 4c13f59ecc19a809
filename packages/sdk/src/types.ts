/**
 * The wire types of Sigil's integrator API, as the server sends and accepts them.
 * Request bodies accept readonly arrays so callers can pass frozen or `as const` data.
 */
import type { MpaStatus, ParamValue, Pictogram } from '@sigilauth/protocol';

export type { MpaStatus, ParamValue, Pictogram };

/** A request that has finished: every status but 'pending'. */
export type MpaTerminalStatus = Exclude<MpaStatus, 'pending'>;

export interface Approver {
  /** Lower-case hex SHA-256 of the device's compressed public key. */
  fingerprint: string;
  /** 33-byte compressed P-256 public key, standard base64. */
  device_public_key: string;
}

export interface ApprovalGroup {
  name: string;
  approvers: readonly Approver[];
}

export interface MpaAction {
  type: string;
  description: string;
  /** Shown to approvers; values must be strings, numbers or booleans. */
  params?: Record<string, ParamValue>;
}

/** Body of POST /v1/mpa/requests. */
export interface MpaRequestInput {
  /** How many groups must approve (M of N); 1 to groups.length. */
  required: number;
  groups: readonly ApprovalGroup[];
  action: MpaAction;
  /** 60 to 900; default 300. */
  expires_in_seconds?: number;
}

/** The integrator's view of an MPA request: group-level results only, never which device decided. */
export interface MpaRequest {
  request_id: string;
  status: MpaStatus;
  groups_required: number;
  groups_total: number;
  /** Names of the groups that have approved so far. */
  groups_satisfied: string[];
  expires_at: string;
  created_at: string;
  /** Present once the request has finished. */
  completed_at?: string;
  action: { type: string; description: string; params: Record<string, ParamValue> };
}

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
