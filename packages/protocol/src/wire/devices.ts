import { Type, type Static } from 'typebox';
import { FingerprintSchema, PatternString, PublicKeySchema, TimestampSchema, UuidSchema } from './common.js';
import { PictogramSchema } from './info.js';

/** How a device's key is held: `software` (sigil-device) or a passkey's attestation. */
export const DeviceAttestationSchema = Type.Union([
  Type.Object({ format: Type.Literal('software'), verified: Type.Literal(false) }, { additionalProperties: false }),
  Type.Object(
    { format: Type.String(), aaguid: Type.String(), model: Type.Optional(Type.String()), verified: Type.Boolean() },
    { additionalProperties: false },
  ),
]);
export type DeviceAttestation = Static<typeof DeviceAttestationSchema>;

/** A paired device as its organisation sees it. */
export const DeviceSchema = Type.Object(
  {
    fingerprint: FingerprintSchema,
    device_public_key: PublicKeySchema,
    name: Type.String(),
    paired_at: TimestampSchema,
    status: Type.Union([Type.Literal('active'), Type.Literal('revoked')]),
    revoked_at: Type.Optional(TimestampSchema),
    attestation: DeviceAttestationSchema,
    owner_id: Type.Union([Type.String(), Type.Null()], {
      description: 'who the device belongs to, as the integrator names them (PUT /v1/devices/:fingerprint/owner); null when unset',
    }),
  },
  { additionalProperties: false },
);
export type Device = Static<typeof DeviceSchema>;

export const DeviceListSchema = Type.Object({ data: Type.Array(DeviceSchema) }, { additionalProperties: false });
export type DeviceList = Static<typeof DeviceListSchema>;

/** POST /v1/pairings: show `code` and `pictogram` to the person pairing a device. */
export const PairingCreatedSchema = Type.Object(
  {
    pairing_id: UuidSchema,
    code: PatternString('^[0-9]{8}$', 'must be 8 digits', { description: 'single-use, valid until expires_at (5 minutes)' }),
    status: Type.Literal('pending'),
    name: Type.Union([Type.String(), Type.Null()]),
    expires_at: TimestampSchema,
    server_id: FingerprintSchema,
    server_public_key: PublicKeySchema,
    pictogram: PictogramSchema,
  },
  { additionalProperties: false },
);
export type PairingCreated = Static<typeof PairingCreatedSchema>;

/** GET /v1/pairings/:id. fingerprint, device_public_key and completed_at are set once completed. */
export const PairingSchema = Type.Object(
  {
    pairing_id: UuidSchema,
    status: Type.Union([Type.Literal('pending'), Type.Literal('completed'), Type.Literal('expired')]),
    name: Type.Union([Type.String(), Type.Null()]),
    expires_at: TimestampSchema,
    created_at: TimestampSchema,
    completed_at: Type.Optional(TimestampSchema),
    fingerprint: Type.Optional(FingerprintSchema),
    device_public_key: Type.Optional(PublicKeySchema),
  },
  { additionalProperties: false },
);
export type Pairing = Static<typeof PairingSchema>;

/** POST /v1/pairings/complete: the device is paired with this organisation. */
export const PairingCompletedSchema = Type.Object(
  {
    status: Type.Literal('completed'),
    server_id: FingerprintSchema,
    pairing_id: UuidSchema,
    tenant_id: UuidSchema,
    org_name: Type.String(),
    fingerprint: FingerprintSchema,
    device_public_key: PublicKeySchema,
    name: Type.String(),
    paired_at: TimestampSchema,
  },
  { additionalProperties: false },
);
export type PairingCompleted = Static<typeof PairingCompletedSchema>;
