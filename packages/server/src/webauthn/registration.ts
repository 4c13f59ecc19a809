import type { RegistrationResponseJSON, VerifiedRegistrationResponse } from '@simplewebauthn/server';
import { fingerprintOf } from '@sigilauth/protocol';
import type { DeviceAttestation, WebAuthnAssertion } from '@sigilauth/protocol/wire';
import { ApiError } from '../http/errors.js';
import { checkPairingCode, completePairingForKey } from '../pairing/pairings.js';
import type { Database } from '../storage/database.js';
import { attestationRefusal, describeAttestation } from './attestation.js';
import { COSE_ALG_ES256, deviceKeyFromCose, verifyPasskeyAssertion } from './assertion.js';
import { consumeChallenge, insertCredential, issueChallenge } from './credentials.js';
import { simpleWebAuthn } from './library.js';
import type { RelyingParty, WebAuthnSettings } from './settings.js';

/** How long the person has to create the passkey once the code is accepted. */
const REGISTRATION_TTL_MS = 5 * 60_000;
const CEREMONY_TIMEOUT_MS = 120_000;

export function requireRelyingParty(settings: WebAuthnSettings): RelyingParty {
  const rp = settings.relyingParty();
  if (!rp) throw new ApiError('webauthn_unavailable', 'passkeys are not configured on this server (set SIGIL_PUBLIC_URL)');
  return rp;
}

/**
 * Step 1 of pairing a passkey: checks the code (a wrong one counts against the pairing exactly as
 * for a device) and returns the WebAuthn creation options with a single-use challenge bound to
 * that pairing, and `proof`: the request options for the assertion the new passkey must then make
 * over a second fresh challenge, proving that the browser holds its private key.
 */
export async function passkeyRegistrationOptions(
  db: Database,
  settings: WebAuthnSettings,
  code: string,
  name: string | undefined,
  clientAddress: string,
  now: number,
) {
  const rp = requireRelyingParty(settings);
  const pairing = await checkPairingCode(db, code, clientAddress, now);
  const ttl = Math.max(1000, Math.min(REGISTRATION_TTL_MS, pairing.expires_at.getTime() - now));
  const challenge = await issueChallenge(db, 'registration', pairing.pairing_id, ttl, now);
  // The approver's own name wins, then the administrator's; empty: the browser names itself.
  const deviceName = name?.trim() || pairing.name_hint || '';
  const shownName = deviceName || 'Web approver';
  const { generateRegistrationOptions } = await simpleWebAuthn();
  const options = await generateRegistrationOptions({
    rpName: `${pairing.org_name} (Sigil)`,
    rpID: rp.rpId,
    userName: `${shownName} · ${pairing.org_name}`,
    userDisplayName: `${shownName} · ${pairing.org_name} approver`,
    challenge: Buffer.from(challenge.challenge, 'base64url'),
    timeout: CEREMONY_TIMEOUT_MS,
    attestationType: settings.attestationRequired ? 'direct' : 'none',
    authenticatorSelection: { residentKey: 'preferred', userVerification: 'required' },
    supportedAlgorithmIDs: [COSE_ALG_ES256],
  });
  return {
    challenge_id: challenge.id,
    org_name: pairing.org_name,
    name: deviceName,
    expires_at: challenge.expiresAt.toISOString(),
    attestation_required: settings.attestationRequired,
    options,
    proof: { challenge: challenge.proofChallenge!, rpId: rp.rpId, userVerification: 'required' as const, timeout: CEREMONY_TIMEOUT_MS },
  };
}

export interface PasskeyPairing {
  challengeId: string;
  code: string;
  name: string;
  credential: RegistrationResponseJSON;
  /** The new passkey's assertion over the proof challenge of step 1. */
  proof: WebAuthnAssertion;
}

/**
 * Step 2: verifies the new passkey (origin, RP ID, challenge, user presence and verification,
 * ES256, the attestation statement) and its proof of possession (an assertion by that passkey
 * over the proof challenge, checked like any assertion: origin, RP ID, UP and UV, signature),
 * applies the attestation policy, then uses the pairing code through the same path as a device
 * pairing, with the passkey's P-256 key as the device key. A registration alone proves nothing
 * about the key it names (attestation `none` carries no signature at all), so without the proof
 * anyone could pair someone else's public key.
 */
export async function completePasskeyPairing(
  db: Database,
  settings: WebAuthnSettings,
  input: PasskeyPairing,
  clientAddress: string,
  now: number,
) {
  const rp = requireRelyingParty(settings);
  const challenge = await consumeChallenge(db, input.challengeId, 'registration', now);
  if (!challenge || !challenge.pairing_id || !challenge.proof_challenge) {
    throw new ApiError('challenge_expired', 'this passkey request expired or was already used: enter the code again');
  }
  const { verifyRegistrationResponse } = await simpleWebAuthn();
  let verification: VerifiedRegistrationResponse;
  try {
    verification = await verifyRegistrationResponse({
      response: input.credential,
      expectedChallenge: challenge.challenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.rpId,
      expectedType: 'webauthn.create',
      requireUserPresence: true,
      requireUserVerification: true,
      supportedAlgorithmIDs: [COSE_ALG_ES256],
    });
  } catch (err) {
    throw new ApiError('invalid_registration', `the passkey registration does not verify: ${(err as Error).message}`);
  }
  const info = verification.registrationInfo;
  if (!verification.verified || !info) throw new ApiError('invalid_registration', 'the passkey attestation statement does not verify');
  const publicKey = await deviceKeyFromCose(info.credential.publicKey);
  const fingerprint = fingerprintOf(publicKey);
  const credential = {
    fingerprint,
    credential_id: info.credential.id,
    public_key: publicKey,
    cose_public_key: info.credential.publicKey,
    rp_id: info.rpID ?? rp.rpId,
  };
  const proven = await verifyPasskeyAssertion(
    rp,
    { ...credential, sign_count: info.credential.counter },
    challenge.proof_challenge,
    input.proof,
  );
  const attestation: DeviceAttestation = await describeAttestation(info.fmt, info.aaguid, info.attestationObject);
  if (settings.attestationRequired && !attestation.verified) throw new ApiError('attestation_required', attestationRefusal(attestation));

  const device = await completePairingForKey(
    db,
    input.code,
    {
      publicKey,
      fingerprint,
      name: input.name,
      attestation,
      onPaired: async (tx, pairing) => {
        if (pairing.id !== challenge.pairing_id) {
          throw new ApiError('invalid_code', 'the pairing code is not the one this passkey request was made for');
        }
        const stored = await insertCredential(
          tx,
          { ...credential, sign_count: Math.max(info.credential.counter, proven.counter), transports: info.credential.transports },
          now,
        );
        if (!stored) throw new ApiError('device_already_paired', 'this passkey is already paired on this server: create a new passkey');
      },
    },
    clientAddress,
    now,
  );
  return { ...device, credential_id: info.credential.id, attestation };
}
