/** Domain-separated signatures: the bytes every Sigil signature is made over, and their check. */
import { concatBytes, fromBase64, utf8 } from './bytes.js';
import type { SigilCrypto } from './crypto/types.js';
import { canonicalize } from './jcs.js';
import { compressedPointOf, isLowS } from './p256.js';

/** One domain tag per purpose; a signature made for one can never verify as another. */
export const DomainTag = {
  pairing: 'SIGIL-PAIRING-V1',
  deviceSession: 'SIGIL-DEVICE-SESSION-V1',
  mpaDecision: 'SIGIL-MPA-DECISION-V1',
  serverMessage: 'SIGIL-SERVER-MESSAGE-V1',
  treeHead: 'SIGIL-TREE-HEAD-V1',
} as const;
export type DomainTag = (typeof DomainTag)[keyof typeof DomainTag];

/** The bytes that are signed: ASCII tag, a NUL byte, then the JCS form of the payload. */
export function signingInputBytes(tag: DomainTag, payload: unknown): Uint8Array<ArrayBuffer> {
  return concatBytes(utf8(tag), new Uint8Array([0]), utf8(canonicalize(payload)));
}

/**
 * Verifies a domain-tagged signature (64-byte r||s, standard base64) under a compressed P-256 key
 * (standard base64) with the given crypto; a high-S signature is refused even though ECDSA alone
 * would accept it. Never throws.
 */
export async function verifyPayloadWith(
  crypto: SigilCrypto,
  tag: DomainTag,
  payload: unknown,
  signature: string,
  publicKey: string,
): Promise<boolean> {
  let key: Uint8Array;
  let sig: Uint8Array;
  let message: Uint8Array;
  try {
    key = compressedPointOf(publicKey);
    sig = fromBase64(signature);
    message = signingInputBytes(tag, payload);
  } catch {
    return false;
  }
  if (sig.length !== 64 || !isLowS(sig)) return false;
  return crypto.verifyP256(key, message, sig);
}
