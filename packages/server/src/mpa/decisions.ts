import { DomainTag, decisionChallenge, isFresh, verifyPayload, type Approver } from '@sigilauth/protocol';
import type { DecisionPayload, DeviceRequestView, WebAuthnAssertion } from '@sigilauth/protocol/wire';
import type { DecisionOrigin } from '../governance/anomaly-flags.js';
import { ApiError, notFound } from '../http/errors.js';
import type { Database } from '../storage/database.js';
import { encodeAssertionRecord, verifyPasskeyAssertion } from '../webauthn/assertion.js';
import { advanceSignCount, findCredentialByFingerprint } from '../webauthn/credentials.js';
import type { RelyingParty } from '../webauthn/settings.js';
import { hasExpired } from './expiry-rule.js';
import { findFixedRequest, hasDecided } from './request-queries.js';
import { recordDecision, statusForLateDecision } from './request-transitions.js';
import type { FixedRequest } from './requests.js';

/**
 * The checks every decision goes through, however it is signed: the payload is for this request,
 * server and moment; the device is an approver (`verify` then checks the proof against the key
 * named for it in the request); the action digest matches; the request has not expired.
 * Everything that can be checked without the row lock is checked here, so the locked section
 * (recordDecision) stays short.
 */
async function checkDecision(
  db: Database,
  serverId: string,
  requestId: string,
  payload: DecisionPayload,
  now: number,
  verify: (approver: Approver) => Promise<void>,
): Promise<FixedRequest> {
  if (payload.purpose !== 'mpa-decision') throw new ApiError('invalid_request', 'payload.purpose must be "mpa-decision"');
  if (payload.request_id !== requestId) throw new ApiError('invalid_request', 'payload.request_id does not match the request in the URL');
  if (payload.server_id !== serverId) throw new ApiError('wrong_server', 'the decision was signed for another server');
  if (!isFresh(payload.issued_at, now)) throw new ApiError('stale_signature', 'payload.issued_at is too far from the server clock');

  const request = await findFixedRequest(db, requestId);
  if (!request) throw notFound('MPA request');
  const approver = request.groups.flatMap((g) => g.approvers).find((a) => a.fingerprint === payload.fingerprint);
  if (!approver) throw new ApiError('not_an_approver', 'this device is not an approver of this request');
  await verify(approver);
  if (payload.action_digest !== request.action_digest) {
    throw new ApiError('action_mismatch', 'the decision was signed for a different action');
  }
  if (hasExpired(request.expires_at.getTime(), payload.issued_at)) {
    // A request that ended before its expiry keeps its stored outcome; only a pending one timed out.
    const status = await statusForLateDecision(db, requestId, now);
    throw new ApiError('request_completed', `MPA request is already ${status}`, { status });
  }
  return request;
}

/** Checks a device's signed decision against the request it names, records it, and returns the device's view. */
export async function submitDecision(
  db: Database,
  serverId: string,
  requestId: string,
  payload: DecisionPayload,
  signature: string,
  now: number,
  origin?: DecisionOrigin,
): Promise<DeviceRequestView> {
  const request = await checkDecision(db, serverId, requestId, payload, now, async (approver) => {
    if (!verifyPayload(DomainTag.mpaDecision, payload, signature, approver.device_public_key)) {
      throw new ApiError('invalid_signature', 'the decision signature does not verify against the approver key');
    }
  });
  return recordDecision(
    db,
    { requestId, fingerprint: payload.fingerprint, decision: payload.decision, payload, signature, origin, request },
    now,
  );
}

/**
 * A decision made with a passkey: a WebAuthn assertion whose challenge is the SHA-256 of the same
 * signing input a device signs (decisionChallenge). Verified against the passkey whose key is
 * the one named in the request, then recorded exactly as a signed decision.
 */
export async function submitWebAuthnDecision(
  db: Database,
  serverId: string,
  relyingParty: RelyingParty | null,
  requestId: string,
  payload: DecisionPayload,
  assertion: WebAuthnAssertion,
  now: number,
  origin?: DecisionOrigin,
): Promise<DeviceRequestView> {
  let counter = 0;
  const request = await checkDecision(db, serverId, requestId, payload, now, async (approver) => {
    const credential = await findCredentialByFingerprint(db, approver.fingerprint);
    if (!credential || credential.public_key !== approver.device_public_key) {
      throw new ApiError('invalid_signature', 'this approver has no passkey: it decides with a signature from its device key');
    }
    if (!relyingParty) throw new ApiError('webauthn_unavailable', 'passkeys are not configured on this server (set SIGIL_PUBLIC_URL)');
    ({ counter } = await verifyPasskeyAssertion(relyingParty, credential, decisionChallenge(payload).toString('base64url'), assertion));
  });
  // A replay of an accepted decision is answered like any second decision; the counter check
  // then refuses other re-used assertions (and cloned authenticators) before anything is recorded.
  if (await hasDecided(db, requestId, payload.fingerprint))
    throw new ApiError('already_decided', 'this device has already decided on this request');
  if (!(await advanceSignCount(db, payload.fingerprint, counter, now))) {
    throw new ApiError(
      'invalid_signature',
      "the passkey's signature counter did not increase: a replayed assertion or a cloned authenticator",
    );
  }
  const signature = encodeAssertionRecord(assertion);
  return recordDecision(
    db,
    { requestId, fingerprint: payload.fingerprint, decision: payload.decision, payload, signature, origin, request },
    now,
  );
}
