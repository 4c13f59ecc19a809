// The public surface of @sigilauth/sdk, listed by hand: a new export is a decision.
export { SigilAuth, type SigilAuthOptions } from './client.js';
export { MpaApi } from './mpa.js';
export { PairingsApi } from './pairings.js';
export { DevicesApi } from './devices.js';
export { TeamsApi } from './teams.js';
export { OverridesApi } from './overrides.js';
export { GovernanceApi } from './governance.js';
export {
  AuditApi,
  type AuditEntry,
  type AuditListOptions,
  type AuditLeafEntry,
  type ConsistencyProofBody,
  type InclusionProofBody,
  type SignedTreeHead,
  type TreeHead,
} from './audit.js';
export {
  WebhooksApi,
  type WebhookEvent,
  type WebhookEventType,
  type MpaWebhookEvent,
  type MpaCreatedEvent,
  type MpaApprovedEvent,
  type MpaRejectedEvent,
  type MpaTimeoutEvent,
  type MpaCancelledEvent,
  type MpaFlaggedEvent,
  type AnomalyFlagKind,
  type DeviceWebhookEvent,
  type DevicePairedEvent,
  type DeviceRevokedEvent,
  type AuditHeadEvent,
  type TeamWebhookEvent,
  type OverrideCreatedEvent,
  type OverrideReviewedEvent,
  type WebhookHeadersInput,
  type WebhookVerifyOptions,
} from './webhooks.js';
export {
  SigilError,
  SigilApiError,
  SigilNetworkError,
  SigilValidationError,
  SigilConfigError,
  AwaitTimeoutError,
  AuditVerificationError,
  type AuditVerificationErrorCode,
  type SigilErrorOptions,
} from './errors.js';
export { WebhookVerificationError, type WebhookVerificationErrorCode } from '@sigilauth/protocol';
export { ERROR_CATALOGUE, ERROR_CODES, ErrorCode, isErrorCode } from '@sigilauth/protocol';
export type { FetchLike } from './http.js';
export {
  type AnomalyFlagView,
  type ApprovalGroup,
  type Approver,
  type AwaitResultOptions,
  type CallOptions,
  type DecisionRelease,
  type Device,
  type DeviceAttestation,
  type DeviceFlags,
  type DeviceStatus,
  type DeviceTimeZone,
  type GovernanceSettings,
  type GovernanceSettingsPatch,
  type MpaAction,
  type MpaCreateOptions,
  type MpaList,
  type MpaListOptions,
  type MpaRequest,
  type MpaRequestInput,
  type MpaResult,
  type MpaStatus,
  type MpaTerminalStatus,
  type Pairing,
  type PairingCreated,
  type PairingCreateOptions,
  type PairingStatus,
  type ParamValue,
  type Pictogram,
  type Team,
  type TeamMember,
  type TeamInput,
  type TeamUpdate,
  type TeamGroup,
  type Override,
  type OverrideCreated,
  type OverrideInput,
  type OverrideSettings,
  type OverrideStatus,
  type RequestedBy,
} from './types.js';
