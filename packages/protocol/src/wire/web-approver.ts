import { Type, type Static, type TSchema } from 'typebox';
import { ContactsSchema } from './notifications.js';
import { FingerprintSchema, PublicKeySchema, TimestampSchema, UuidSchema } from './common.js';
import { DeviceRequestViewSchema } from './device-view.js';
import { DeviceAttestationSchema, PairingCompletedSchema } from './devices.js';
import { PictogramSchema } from './info.js';

// The answers of /approve/api/*, the web approver's own API (docs/web-approver.md).

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const ServerTime = Type.Number({ description: "the server's clock, milliseconds since the epoch" });

/** GET /approve/api/config: what the page shows before anyone signs in. */
export const ApproverConfigSchema = Type.Object(
  {
    server_id: FingerprintSchema,
    pictogram: PictogramSchema,
    org_name: Nullable(Type.String()),
    rp_id: Nullable(Type.String()),
    origin: Nullable(Type.String()),
    attestation_required: Type.Boolean(),
    server_time: ServerTime,
  },
  { additionalProperties: false },
);
export type ApproverConfig = Static<typeof ApproverConfigSchema>;

/** The request options of a passkey assertion (WebAuthn's PublicKeyCredentialRequestOptionsJSON, in part). */
const AssertionOptionsSchema = Type.Object(
  { challenge: Type.String(), rpId: Type.String(), userVerification: Type.Literal('required'), timeout: Type.Integer() },
  { additionalProperties: false },
);

/** POST /approve/api/pair/options: the passkey to create, and the assertion that proves it is here. */
export const PasskeyPairingOptionsSchema = Type.Object(
  {
    challenge_id: UuidSchema,
    org_name: Type.String(),
    name: Type.String(),
    expires_at: TimestampSchema,
    attestation_required: Type.Boolean(),
    options: Type.Object({}, { additionalProperties: true, description: "WebAuthn's PublicKeyCredentialCreationOptionsJSON" }),
    proof: AssertionOptionsSchema,
  },
  { additionalProperties: false },
);
export type PasskeyPairingOptions = Static<typeof PasskeyPairingOptionsSchema>;

/** POST /approve/api/pair/complete: a device pairing's answer, with the passkey's id and attestation. */
export const PasskeyPairedSchema = Type.Object(
  { ...PairingCompletedSchema.properties, credential_id: Type.String(), attestation: DeviceAttestationSchema },
  { additionalProperties: false },
);
export type PasskeyPaired = Static<typeof PasskeyPairedSchema>;

/** POST /approve/api/session/options: the challenge to sign in with. */
export const SessionOptionsSchema = Type.Object(
  { challenge_id: UuidSchema, options: AssertionOptionsSchema },
  { additionalProperties: false },
);
export type SessionOptions = Static<typeof SessionOptionsSchema>;

/** GET /approve/api/me and POST /approve/api/session: the signed-in device and its passkey. */
export const ApproverSessionSchema = Type.Object(
  {
    tenant_id: UuidSchema,
    org_name: Type.String(),
    fingerprint: FingerprintSchema,
    device_public_key: PublicKeySchema,
    name: Type.String(),
    credential_id: Type.String(),
    rp_id: Type.String(),
    server_id: FingerprintSchema,
    server_time: ServerTime,
  },
  { additionalProperties: false },
);
export type ApproverSession = Static<typeof ApproverSessionSchema>;

/** POST /approve/api/logout. */
export const SignedOutSchema = Type.Object({ status: Type.Literal('signed_out') }, { additionalProperties: false });
export type SignedOut = Static<typeof SignedOutSchema>;

/** GET /approve/api/requests: one page of the pending requests naming this device, newest first. */
export const ApproverRequestPageSchema = Type.Object(
  {
    requests: Type.Array(DeviceRequestViewSchema),
    next_cursor: Nullable(UuidSchema),
    server_time: ServerTime,
  },
  { additionalProperties: false },
);
export type ApproverRequestPage = Static<typeof ApproverRequestPageSchema>;

/** GET /approve/api/notifications: this device's contacts and the key to subscribe to push with. */
export const ApproverNotificationsSchema = Type.Object(
  { vapid_public_key: Type.String(), ...ContactsSchema.properties },
  { additionalProperties: false },
);
export type ApproverNotifications = Static<typeof ApproverNotificationsSchema>;
