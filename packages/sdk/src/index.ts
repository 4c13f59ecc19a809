export { SigilAuth, type SigilAuthOptions } from './client.js';
export { MpaApi } from './mpa.js';
export { PairingsApi } from './pairings.js';
export { DevicesApi } from './devices.js';
export { TeamsApi } from './teams.js';
export { OverridesApi } from './overrides.js';
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
export type { FetchLike } from './http.js';
export type * from './types.js';
