import { decodePublicKey } from '@sigilauth/protocol';
import { ApiError } from '../http/errors.js';
import type { CredentialRow } from './credentials.js';
import { simpleWebAuthn, simpleWebAuthnHelpers } from './library.js';
import type { RelyingParty } from './settings.js';
import type { WebAuthnAssertion } from '@sigilauth/protocol/wire';

/** COSE key parameters (RFC 9052 / 9053). */
const COSE = { kty: 1, alg: 3, crv: -1, x: -2, y: -3 } as const;
const COSE_KTY_EC2 = 2;
const COSE_CRV_P256 = 1;
export const COSE_ALG_ES256 = -7;

/**
 * A passkey's COSE public key as a Sigil device key: the 33-byte compressed P-256 point in
 * standard base64. Only ES256 keys (EC2, P-256, alg -7) are accepted.
 */
export async function deviceKeyFromCose(cose: Uint8Array): Promise<string> {
  const { decodeCredentialPublicKey } = await simpleWebAuthnHelpers();
  const key = decodeCredentialPublicKey(new Uint8Array(cose)) as unknown as Map<number, unknown>;
  const x = key.get(COSE.x);
  const y = key.get(COSE.y);
  if (key.get(COSE.kty) !== COSE_KTY_EC2 || key.get(COSE.crv) !== COSE_CRV_P256 || key.get(COSE.alg) !== COSE_ALG_ES256) {
    throw new ApiError('invalid_registration', 'the passkey must be an ES256 (ECDSA P-256) key');
  }
  if (!(x instanceof Uint8Array) || !(y instanceof Uint8Array) || x.length !== 32 || y.length !== 32) {
    throw new ApiError('invalid_registration', 'the passkey public key is malformed');
  }
  const encoded = Buffer.concat([Buffer.from([(y[31]! & 1) === 1 ? 0x03 : 0x02]), Buffer.from(x)]).toString('base64');
  try {
    decodePublicKey(encoded);
  } catch {
    throw new ApiError('invalid_registration', 'the passkey public key is not a point on P-256');
  }
  return encoded;
}

const refused = (why: string) => new ApiError('invalid_signature', `the passkey assertion does not verify: ${why}`);

function decodeClientData(encoded: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw refused('client_data_json is not a JSON object');
}

/** The challenge an assertion's client data names, unverified (verifyPasskeyAssertion checks it); null when it names none. */
export function claimedChallenge(assertion: WebAuthnAssertion): string | null {
  const challenge = decodeClientData(assertion.client_data_json).challenge;
  return typeof challenge === 'string' ? challenge : null;
}

/**
 * Verifies a WebAuthn assertion made with a stored passkey over an expected challenge:
 * clientData type `webauthn.get`, the challenge, the origin (and not from inside a cross-origin
 * frame), the RP ID hash, the UP and UV flags, and the ECDSA signature over
 * authenticatorData || SHA-256(clientDataJSON). Returns the authenticator's signature counter,
 * which the caller must see increase (advanceSignCount) before it acts on the assertion.
 */
export async function verifyPasskeyAssertion(
  rp: RelyingParty,
  credential: CredentialRow,
  expectedChallenge: string,
  assertion: WebAuthnAssertion,
): Promise<{ counter: number }> {
  if (assertion.credential_id !== credential.credential_id) throw refused('it was made with another passkey');
  const clientData = decodeClientData(assertion.client_data_json);
  if (clientData.crossOrigin === true) throw refused('it was made inside a cross-origin frame');
  if (clientData.origin !== rp.origin) throw refused(`it was made on ${JSON.stringify(String(clientData.origin))}, not ${rp.origin}`);
  const { verifyAuthenticationResponse } = await simpleWebAuthn();
  try {
    const result = await verifyAuthenticationResponse({
      response: {
        id: assertion.credential_id,
        rawId: assertion.credential_id,
        type: 'public-key',
        response: {
          authenticatorData: assertion.authenticator_data,
          clientDataJSON: assertion.client_data_json,
          signature: assertion.signature,
        },
        clientExtensionResults: {},
      },
      expectedChallenge,
      expectedOrigin: rp.origin,
      expectedRPID: [credential.rp_id],
      expectedType: 'webauthn.get',
      // The counter is checked by the caller, atomically with recording the use.
      credential: { id: credential.credential_id, publicKey: Buffer.from(credential.cose_public_key), counter: 0 },
      requireUserVerification: true,
    });
    if (!result.verified) throw new Error('the signature does not verify against the passkey');
    return { counter: result.authenticationInfo.newCounter };
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw refused((err as Error).message);
  }
}

/**
 * How a passkey decision is kept in the decision record and audit log, where a device's raw
 * signature would be: `webauthn.v1.<authenticator_data>.<client_data_json>.<signature>`, each
 * base64url. With the payload and the device key this is everything needed to verify it again.
 */
export function encodeAssertionRecord(a: WebAuthnAssertion): string {
  return ['webauthn', 'v1', a.authenticator_data, a.client_data_json, a.signature].join('.');
}
