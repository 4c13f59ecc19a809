/**
 * The wire types of Sigil's integrator API, as the server sends and accepts them.
 * Request bodies accept readonly arrays so callers can pass frozen or `as const` data.
 */
import type {
  Approver,
  ApprovalGroup,
  MpaAction,
  MpaRequestInput,
  MpaStatus,
  ParamValue,
  RequestedBy,
  TeamGroup,
} from '@sigilauth/protocol';
import type {
  MpaRequestView,
  AnomalyFlagView,
  DecisionRelease,
  DeviceAttestation,
  Device,
  DeviceFlags,
  DeviceTimeZone,
  GovernanceSettings,
  GovernanceSettingsPatch,
  MpaList,
  OverrideCreated,
  OverrideInput,
  OverrideSettings,
  OverrideStatus,
  OverrideView,
  Pairing,
  PairingCreated,
  Pictogram,
  TeamInput,
  TeamMemberView,
  TeamUpdate,
  TeamView,
} from '@sigilauth/protocol/wire';

export type {
  AnomalyFlagView,
  Approver,
  ApprovalGroup,
  DecisionRelease,
  Device,
  DeviceAttestation,
  DeviceFlags,
  DeviceTimeZone,
  GovernanceSettings,
  GovernanceSettingsPatch,
  MpaAction,
  MpaList,
  MpaRequestInput,
  MpaStatus,
  OverrideCreated,
  OverrideInput,
  OverrideSettings,
  OverrideStatus,
  Pairing,
  PairingCreated,
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
