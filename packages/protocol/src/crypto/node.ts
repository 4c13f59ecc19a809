/** SigilCrypto with node:crypto, and the synchronous SHA-256 the Node-side functions use. */
import { createHash, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { concatBytes } from '../bytes.js';
import { toLowSBytes } from '../p256.js';
import type { SigilCrypto } from './types.js';

/** DER prefixes of a SubjectPublicKeyInfo holding a P-256 point, compressed and uncompressed. */
export const SPKI_P256_COMPRESSED_PREFIX = Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex');
export const SPKI_P256_UNCOMPRESSED_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');

export function sha256Sync(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

/** A P-256 public KeyObject from a 33-byte compressed point; throws when it is not on the curve. */
export function importCompressedP256(compressed: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_P256_COMPRESSED_PREFIX, compressed]), format: 'der', type: 'spki' });
}

/** The 33-byte compressed point of a P-256 key (read from the SPKI DER export); null when it is not one. */
export function compressedPointOfKey(key: KeyObject): Buffer | null {
  if (key.type === 'secret') return null;
  // a key keeps the point form it was imported in
  const spki = (key.type === 'private' ? createPublicKey(key) : key).export({ format: 'der', type: 'spki' });
  if (spki.length === 59 && spki.subarray(0, 26).equals(SPKI_P256_COMPRESSED_PREFIX)) return spki.subarray(26);
  if (spki.length !== 91 || !spki.subarray(0, 26).equals(SPKI_P256_UNCOMPRESSED_PREFIX) || spki[26] !== 0x04) return null;
  const y = spki.subarray(59, 91);
  return Buffer.concat([Buffer.from([(y[31]! & 1) === 1 ? 0x03 : 0x02]), spki.subarray(27, 59)]);
}

export function signP256Sync(privateKey: KeyObject, message: Uint8Array): Buffer {
  return Buffer.from(toLowSBytes(sign('sha256', message, { key: privateKey, dsaEncoding: 'ieee-p1363' })));
}

export function verifyP256Sync(publicKey: KeyObject, message: Uint8Array, signature: Uint8Array): boolean {
  return verify('sha256', message, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature);
}

export const nodeCrypto: SigilCrypto = {
  sha256: async (data) => sha256Sync(data),
  async verifyP256(publicKey, message, signature) {
    try {
      return verifyP256Sync(importCompressedP256(publicKey), message, signature);
    } catch {
      return false;
    }
  },
  async generateP256() {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    return { privateKey, publicKey: concatBytes(compressedPointOfKey(publicKey)!) };
  },
  signP256: async (privateKey, message) => signP256Sync(privateKey as KeyObject, message),
};
