import { Type, type Static } from 'typebox';
import {
  Base64UrlSchema,
  DecisionSchema,
  FingerprintSchema,
  PublicKeySchema,
  Sha256HexSchema,
  SignatureSchema,
  UuidSchema,
} from './common.js';

// What a device signs, and the passkey assertion that stands in for a device signature. The
// bounds are what a server accepts from anyone: keep them tight.

/** Signed by a device under DomainTag.pairing to complete a pairing. */
export const PairingProofSchema = Type.Object(
  {
    purpose: Type.Literal('pairing'),
    server_id: FingerprintSchema,
    code: Type.String({ maxLength: 16 }),
    device_public_key: PublicKeySchema,
    fingerprint: FingerprintSchema,
    name: Type.String({ maxLength: 100 }),
    issued_at: Type.Integer(),
  },
  { additionalProperties: false },
);
export type PairingProof = Static<typeof PairingProofSchema>;

/** Body of POST /v1/pairings/complete. */
export const SignedPairingProofSchema = Type.Object(
  { payload: PairingProofSchema, signature: SignatureSchema },
  { additionalProperties: false },
);
export type SignedPairingProof = Static<typeof SignedPairingProofSchema>;

/** Signed by a device under DomainTag.mpaDecision: one approver's answer to one request. */
export const DecisionPayloadSchema = Type.Object(
  {
    purpose: Type.Literal('mpa-decision'),
    server_id: FingerprintSchema,
    request_id: UuidSchema,
    fingerprint: FingerprintSchema,
    decision: DecisionSchema,
    action_digest: Sha256HexSchema(),
    issued_at: Type.Integer(),
  },
  { additionalProperties: false },
);
export type DecisionPayload = Static<typeof DecisionPayloadSchema>;

/** A decision signed by a device key. */
export const SignedDecisionSchema = Type.Object(
  { payload: DecisionPayloadSchema, signature: SignatureSchema },
  { additionalProperties: false },
);
export type SignedDecision = Static<typeof SignedDecisionSchema>;

/** A passkey's WebAuthn assertion; every field is base64url without padding, as WebAuthn encodes them. */
export const WebAuthnAssertionSchema = Type.Object(
  {
    credential_id: Base64UrlSchema(1400, 'the passkey credential id (rawId), base64url'),
    authenticator_data: Base64UrlSchema(4096, 'authenticatorData, base64url'),
    client_data_json: Base64UrlSchema(4096, 'clientDataJSON, base64url'),
    signature: Base64UrlSchema(200, 'DER ECDSA P-256 signature over authenticatorData || SHA-256(clientDataJSON), base64url'),
  },
  { additionalProperties: false },
);
export type WebAuthnAssertion = Static<typeof WebAuthnAssertionSchema>;

/** A decision made with a passkey: its assertion's challenge is SHA-256 of the payload's signing input. */
export const WebAuthnDecisionBodySchema = Type.Object(
  { payload: DecisionPayloadSchema, webauthn: WebAuthnAssertionSchema },
  { additionalProperties: false },
);
export type WebAuthnDecisionBody = Static<typeof WebAuthnDecisionBodySchema>;

/** Body of POST /v1/mpa/requests/:id/decisions: a device's signature, or a passkey's assertion over the same payload. */
export const DecisionBodySchema = Type.Union([SignedDecisionSchema, WebAuthnDecisionBodySchema]);
export type DecisionBody = Static<typeof DecisionBodySchema>;
