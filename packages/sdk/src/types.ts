/**
 * The wire types of Sigil's integrator API, as the server sends and accepts them.
 * Request bodies accept readonly arrays so callers can pass frozen or `as const` data.
 */
import type {
  Approver,
  ApprovalGroup,
  DeviceAttestation,
  Device,
  MpaAction,
  MpaList,
  MpaRequestInput,
  MpaRequestView,
  MpaStatus,
  Pairing,
  PairingCreated,
  ParamValue,
  Pictogram,
} from '@sigilauth/protocol';

export type {
  Approver,
  ApprovalGroup,
  Device,
  DeviceAttestation,
  MpaAction,
  MpaList,
  MpaRequestInput,
  MpaStatus,
  Pairing,
  PairingCreated,
  ParamValue,
  Pictogram,
};

/** GET /v1/pairings/:id's status. */
export type PairingStatus = Pairing['status'];

/** A device's status in the device list. */
export type DeviceStatus = Device['status'];

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

export interface PairingCreateOptions {
  /** A hint for the device's name, 1 to 100 characters. */
  name?: string;
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
