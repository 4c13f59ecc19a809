import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { fromBase64 } from './bytes.js';
import { compressedPointOfKey, importCompressedP256, sha256Sync } from './crypto/node.js';
import { KeyFormatError } from './key-format.js';
import { compressedPointOf } from './p256.js';

export { FINGERPRINT_PATTERN, isFingerprint, KeyFormatError } from './key-format.js';

export function generateP256KeyPair(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
}

/**
 * 33-byte compressed SEC1 encoding of a P-256 public key, standard base64. Read from the SPKI DER
 * export, not JWK: on Node 20, a garbage collection during the JWK export of a key made by
 * generateKeyPairSync can deadlock the process on the key's mutex.
 */
export function encodePublicKey(key: KeyObject): string {
  const point = compressedPointOfKey(key);
  if (point === null) throw new KeyFormatError('not a P-256 key');
  return point.toString('base64');
}

/**
 * Recently decoded keys. Decompressing a point costs a modular square root (about 0.25 ms), and
 * the same approvers' keys come back request after request; KeyObjects are immutable.
 */
const decoded = new Map<string, KeyObject>();
const DECODED_MAX = 4096;

/** Parses a compressed P-256 public key; throws KeyFormatError unless it is a valid point. */
export function decodePublicKey(encoded: string): KeyObject {
  const cached = decoded.get(encoded);
  if (cached) {
    decoded.delete(encoded);
    decoded.set(encoded, cached);
    return cached;
  }
  const bytes = compressedPointOf(encoded);
  let key: KeyObject;
  try {
    key = importCompressedP256(bytes);
  } catch {
    throw new KeyFormatError('device_public_key is not a point on P-256');
  }
  if (decoded.size >= DECODED_MAX) decoded.delete(decoded.keys().next().value!);
  decoded.set(encoded, key);
  return key;
}

/** Lower-case hex SHA-256 of the 33 compressed key bytes. */
export function fingerprintOf(encodedPublicKey: string): string {
  return sha256Sync(decodeBase64(encodedPublicKey)).toString('hex');
}

/** Strict standard base64 (padding required), so one value has exactly one encoding. */
export function decodeBase64(encoded: string): Buffer {
  const bytes = fromBase64(encoded);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
