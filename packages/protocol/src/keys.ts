import { createHash, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';

/** DER prefixes of a SubjectPublicKeyInfo holding a P-256 point, compressed and uncompressed. */
const SPKI_P256_COMPRESSED_PREFIX = Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex');
const SPKI_P256_UNCOMPRESSED_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
export const FINGERPRINT_PATTERN = /^[0-9a-f]{64}$/;

export class KeyFormatError extends Error {
  override name = 'KeyFormatError';
}

export function generateP256KeyPair(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
}

/**
 * 33-byte compressed SEC1 encoding of a P-256 public key, standard base64. Read from the SPKI DER
 * export, not JWK: on Node 20, a garbage collection during the JWK export of a key made by
 * generateKeyPairSync can deadlock the process on the key's mutex.
 */
export function encodePublicKey(key: KeyObject): string {
  if (key.type === 'secret') throw new KeyFormatError('not a P-256 key');
  // a key keeps the point form it was imported in
  const spki = (key.type === 'private' ? createPublicKey(key) : key).export({ format: 'der', type: 'spki' });
  if (spki.length === 59 && spki.subarray(0, 26).equals(SPKI_P256_COMPRESSED_PREFIX)) return spki.subarray(26).toString('base64');
  if (spki.length !== 91 || !spki.subarray(0, 26).equals(SPKI_P256_UNCOMPRESSED_PREFIX) || spki[26] !== 0x04) {
    throw new KeyFormatError('not a P-256 key');
  }
  const x = spki.subarray(27, 59);
  const y = spki.subarray(59, 91);
  return Buffer.concat([Buffer.from([(y[31]! & 1) === 1 ? 0x03 : 0x02]), x]).toString('base64');
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
  let bytes: Buffer | undefined;
  try {
    bytes = decodeBase64(encoded);
  } catch {
    bytes = undefined;
  }
  if (bytes === undefined || bytes.length !== 33 || (bytes[0] !== 0x02 && bytes[0] !== 0x03)) {
    throw new KeyFormatError('device_public_key must be a 33-byte compressed P-256 point in standard base64');
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.concat([SPKI_P256_COMPRESSED_PREFIX, bytes]), format: 'der', type: 'spki' });
  } catch {
    throw new KeyFormatError('device_public_key is not a point on P-256');
  }
  if (decoded.size >= DECODED_MAX) decoded.delete(decoded.keys().next().value!);
  decoded.set(encoded, key);
  return key;
}

/** Lower-case hex SHA-256 of the 33 compressed key bytes. */
export function fingerprintOf(encodedPublicKey: string): string {
  return createHash('sha256').update(decodeBase64(encodedPublicKey)).digest('hex');
}

export function isFingerprint(value: unknown): value is string {
  return typeof value === 'string' && FINGERPRINT_PATTERN.test(value);
}

/** Strict standard base64 (padding required), so one value has exactly one encoding. */
export function decodeBase64(encoded: string): Buffer {
  if (typeof encoded !== 'string' || encoded.length % 4 !== 0 || !BASE64.test(encoded)) {
    throw new KeyFormatError('expected standard base64');
  }
  const bytes = Buffer.from(encoded, 'base64');
  if (bytes.toString('base64') !== encoded) throw new KeyFormatError('expected canonical standard base64');
  return bytes;
}
