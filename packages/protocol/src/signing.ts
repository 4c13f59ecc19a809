import type { KeyObject } from 'node:crypto';
import { signP256Sync, verifyP256Sync } from './crypto/node.js';
import { signingInputBytes, type DomainTag } from './domain.js';
import { decodeBase64, decodePublicKey, KeyFormatError } from './keys.js';
import { isLowS, toLowSBytes } from './p256.js';

export { DomainTag } from './domain.js';
export { isLowS } from './p256.js';

/** The bytes that are signed: ASCII tag, a NUL byte, then the JCS form of the payload. */
export function signingInput(tag: DomainTag, payload: unknown): Buffer {
  return Buffer.from(signingInputBytes(tag, payload).buffer);
}

/**
 * The low-S twin of a 64-byte r||s signature: (r, n − s) when s > n/2. Both verify, so anyone can
 * turn one into the other; accepting only the low-S form gives every signature a single encoding.
 */
export function toLowS(signature: Uint8Array): Buffer {
  return Buffer.from(toLowSBytes(signature).buffer);
}

/** ECDSA P-256 / SHA-256, 64-byte r||s with low S, standard base64. */
export function signPayload(tag: DomainTag, payload: unknown, privateKey: KeyObject): string {
  return signP256Sync(privateKey, signingInputBytes(tag, payload)).toString('base64');
}

/** Verifies a signature made by signPayload; a high-S signature is refused even though ECDSA alone would accept it. */
export function verifyPayload(tag: DomainTag, payload: unknown, signature: string, publicKey: KeyObject | string): boolean {
  try {
    const key = typeof publicKey === 'string' ? decodePublicKey(publicKey) : publicKey;
    const sig = decodeBase64(signature);
    if (sig.length !== 64 || !isLowS(sig)) return false;
    return verifyP256Sync(key, signingInputBytes(tag, payload), sig);
  } catch (err) {
    if (err instanceof KeyFormatError || err instanceof TypeError) return false;
    throw err;
  }
}
