import { createHash } from 'node:crypto';
import type { DecisionPayload } from './messages.js';
import { DomainTag, signingInput } from './signing.js';

/**
 * A decision made with a passkey (WebAuthn) instead of a raw device signature. Every field is
 * base64url without padding, as WebAuthn itself encodes them. The assertion's challenge is
 * decisionChallenge(payload), so it commits to exactly the payload a `sigil-device` would sign.
 */
export interface WebAuthnAssertion {
  /** The credential's id (rawId). */
  credential_id: string;
  authenticator_data: string;
  client_data_json: string;
  /** ECDSA P-256 / SHA-256 over authenticator_data || SHA-256(client_data_json), DER-encoded. */
  signature: string;
}

export interface WebAuthnDecisionBody {
  payload: DecisionPayload;
  webauthn: WebAuthnAssertion;
}

/** SHA-256 of the decision's signing input (SIGIL-MPA-DECISION-V1, NUL, JCS(payload)): the WebAuthn challenge bytes. */
export function decisionChallenge(payload: DecisionPayload): Buffer {
  return createHash('sha256').update(signingInput(DomainTag.mpaDecision, payload)).digest();
}

/** How a device's key is held, as the device list shows it. */
export type DeviceAttestation =
  | { format: 'software'; verified: false }
  | { format: string; aaguid: string; model?: string; verified: boolean };
