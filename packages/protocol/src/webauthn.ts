import { sha256Sync } from './crypto/node.js';
import { decisionChallengeInput } from './decision.js';
import type { DecisionPayload } from './wire/signed-payloads.js';

/** SHA-256 of the decision's signing input (SIGIL-MPA-DECISION-V1, NUL, JCS(payload)): the WebAuthn challenge bytes. */
export function decisionChallenge(payload: DecisionPayload): Buffer {
  return sha256Sync(decisionChallengeInput(payload));
}
