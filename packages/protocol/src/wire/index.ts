// "@sigilauth/protocol/wire": the TypeBox schemas of what crosses between a Sigil server and its
// clients, with their Static types. Runtime-neutral.
export {
  ActionSchema,
  DecisionSchema,
  FingerprintSchema,
  MpaStatusSchema,
  ParamValueSchema,
  PublicKeySchema,
  TimestampSchema,
  UuidSchema,
} from './common.js';
export {
  AuditEntrySchema,
  AuditListSchema,
  ConsistencyProofSchema,
  InclusionProofSchema,
  SignedTreeHeadSchema,
  TreeHeadSchema,
  type AuditEntry,
  type AuditList,
  type ConsistencyProof,
  type InclusionProof,
  type SignedTreeHead,
  type TreeHead,
} from './audit.js';
export {
  DeviceAttestationSchema,
  DeviceListSchema,
  DeviceSchema,
  PairingCompletedSchema,
  PairingCreatedSchema,
  PairingSchema,
  type Device,
  type DeviceAttestation,
  type DeviceList,
  type Pairing,
  type PairingCompleted,
  type PairingCreated,
} from './devices.js';
export {
  ChallengeMessageSchema,
  DeviceAuthMessageSchema,
  DeviceSessionProofSchema,
  DeviceStatusRequestSchema,
  DeviceSyncRequestSchema,
  ErrorMessageSchema,
  ReadyMessageSchema,
  RequestMessageSchema,
  ServerMessageSchema,
  SignedServerMessageSchema,
  SyncMessageSchema,
} from './device-session.js';
export { DeviceRequestViewSchema, type DeviceRequestView } from './device-view.js';
export { ErrorBodySchema, ErrorCodeSchema, type ErrorBody } from './error.js';
export { PictogramSchema, ServerInfoSchema, type Pictogram, type ServerInfo } from './info.js';
export {
  ContactsSchema,
  DeviceContactsSchema,
  NotificationListSchema,
  NotificationSchema,
  NotificationSettingsSchema,
  type Contacts,
  type DeviceContacts,
  type Notification,
  type NotificationList,
  type NotificationSettings,
} from './notifications.js';
export {
  WebhookDeliveryListSchema,
  WebhookDeliverySchema,
  WebhookEndpointCreatedSchema,
  WebhookEndpointListSchema,
  WebhookEndpointSchema,
  WebhookSecretRotatedSchema,
  type WebhookDelivery,
  type WebhookDeliveryList,
  type WebhookEndpoint,
  type WebhookEndpointCreated,
  type WebhookEndpointList,
  type WebhookSecretRotated,
} from './webhooks.js';
export { MpaListSchema, MpaRequestViewSchema, type MpaList, type MpaRequestView } from './mpa.js';
