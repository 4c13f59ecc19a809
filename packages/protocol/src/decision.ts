/**
 * A decision made with a passkey (WebAuthn) instead of a raw device signature, in any runtime.
 * The assertion's challenge is SHA-256 of the decision's signing input, so it commits to exactly
 * the payload a `sigil-device` would sign.
 */
import type { SigilCrypto } from './crypto/types.js';
import { DomainTag, signingInputBytes } from './domain.js';
import type { DecisionPayload } from './wire/signed-payloads.js';

/** The bytes whose SHA-256 is a decision's WebAuthn challenge: SIGIL-MPA-DECISION-V1, NUL, JCS(payload). */
export function decisionChallengeInput(payload: DecisionPayload): Uint8Array<ArrayBuffer> {
  return signingInputBytes(DomainTag.mpaDecision, payload);
}

/** A decision's WebAuthn challenge bytes, with the given crypto. */
export async function decisionChallengeWith(crypto: SigilCrypto, payload: DecisionPayload): Promise<Uint8Array> {
  return crypto.sha256(decisionChallengeInput(payload));
}
