import { sign, verify, type KeyObject } from 'node:crypto';
import { canonicalize } from './jcs.js';
import { decodeBase64, decodePublicKey, KeyFormatError } from './keys.js';

/** One domain tag per purpose; a signature made for one can never verify as another. */
export const DomainTag = {
  pairing: 'SIGIL-PAIRING-V1',
  deviceSession: 'SIGIL-DEVICE-SESSION-V1',
  mpaDecision: 'SIGIL-MPA-DECISION-V1',
  serverMessage: 'SIGIL-SERVER-MESSAGE-V1',
  treeHead: 'SIGIL-TREE-HEAD-V1',
} as const;
export type DomainTag = (typeof DomainTag)[keyof typeof DomainTag];

/** The order n of the P-256 group. */
const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const HALF_ORDER = P256_ORDER >> 1n;

/** The bytes that are signed: ASCII tag, a NUL byte, then the JCS form of the payload. */
export function signingInput(tag: DomainTag, payload: unknown): Buffer {
  return Buffer.concat([Buffer.from(tag, 'ascii'), Buffer.from([0]), Buffer.from(canonicalize(payload), 'utf8')]);
}

const scalar = (bytes: Uint8Array): bigint => BigInt(`0x${Buffer.from(bytes).toString('hex') || '0'}`);

/** True when a 64-byte r||s signature has s in the lower half of the group order (s ≤ n/2). */
export function isLowS(signature: Uint8Array): boolean {
  return signature.length === 64 && scalar(signature.subarray(32)) <= HALF_ORDER;
}

/**
 * The low-S twin of a 64-byte r||s signature: (r, n − s) when s > n/2. Both verify, so anyone can
 * turn one into the other; accepting only the low-S form gives every signature a single encoding.
 */
export function toLowS(signature: Uint8Array): Buffer {
  const out = Buffer.from(signature);
  if (out.length !== 64 || isLowS(out)) return out;
  Buffer.from((P256_ORDER - scalar(out.subarray(32))).toString(16).padStart(64, '0'), 'hex').copy(out, 32);
  return out;
}

/** ECDSA P-256 / SHA-256, 64-byte r||s with low S, standard base64. */
export function signPayload(tag: DomainTag, payload: unknown, privateKey: KeyObject): string {
  return toLowS(sign('sha256', signingInput(tag, payload), { key: privateKey, dsaEncoding: 'ieee-p1363' })).toString('base64');
}

/** Verifies a signature made by signPayload; a high-S signature is refused even though ECDSA alone would accept it. */
export function verifyPayload(tag: DomainTag, payload: unknown, signature: string, publicKey: KeyObject | string): boolean {
  try {
    const key = typeof publicKey === 'string' ? decodePublicKey(publicKey) : publicKey;
    const sig = decodeBase64(signature);
    if (sig.length !== 64 || !isLowS(sig)) return false;
    return verify('sha256', signingInput(tag, payload), { key, dsaEncoding: 'ieee-p1363' }, sig);
  } catch (err) {
    if (err instanceof KeyFormatError || err instanceof TypeError) return false;
    throw err;
  }
}
