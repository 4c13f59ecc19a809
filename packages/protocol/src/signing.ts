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

/** The bytes that are signed: ASCII tag, a NUL byte, then the JCS form of the payload. */
export function signingInput(tag: DomainTag, payload: unknown): Buffer {
  return Buffer.concat([Buffer.from(tag, 'ascii'), Buffer.from([0]), Buffer.from(canonicalize(payload), 'utf8')]);
}

/** ECDSA P-256 / SHA-256, 64-byte r||s, standard base64. */
export function signPayload(tag: DomainTag, payload: unknown, privateKey: KeyObject): string {
  return sign('sha256', signingInput(tag, payload), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64');
}

export function verifyPayload(tag: DomainTag, payload: unknown, signature: string, publicKey: KeyObject | string): boolean {
  try {
    const key = typeof publicKey === 'string' ? decodePublicKey(publicKey) : publicKey;
    const sig = decodeBase64(signature);
    if (sig.length !== 64) return false;
    return verify('sha256', signingInput(tag, payload), { key, dsaEncoding: 'ieee-p1363' }, sig);
  } catch (err) {
    if (err instanceof KeyFormatError || err instanceof TypeError) return false;
    throw err;
  }
}
