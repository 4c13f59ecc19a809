import { createHash, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';

/** DER prefix of a SubjectPublicKeyInfo holding a compressed P-256 point. */
const SPKI_P256_COMPRESSED_PREFIX = Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex');
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
export const FINGERPRINT_PATTERN = /^[0-9a-f]{64}$/;

export class KeyFormatError extends Error {
  override name = 'KeyFormatError';
}

export function generateP256KeyPair(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
}

/** 33-byte compressed SEC1 encoding of a P-256 public key, standard base64. */
export function encodePublicKey(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' });
  if (jwk.crv !== 'P-256' || !jwk.x || !jwk.y) throw new KeyFormatError('not a P-256 key');
  const y = Buffer.from(jwk.y, 'base64url');
  const prefix = (y[y.length - 1]! & 1) === 1 ? 0x03 : 0x02;
  return Buffer.concat([Buffer.from([prefix]), Buffer.from(jwk.x, 'base64url')]).toString('base64');
}

/** Parses a compressed P-256 public key; throws KeyFormatError unless it is a valid point. */
export function decodePublicKey(encoded: string): KeyObject {
  let bytes: Buffer | undefined;
  try {
    bytes = decodeBase64(encoded);
  } catch {
    bytes = undefined;
  }
  if (bytes === undefined || bytes.length !== 33 || (bytes[0] !== 0x02 && bytes[0] !== 0x03)) {
    throw new KeyFormatError('device_public_key must be a 33-byte compressed P-256 point in standard base64');
  }
  try {
    return createPublicKey({ key: Buffer.concat([SPKI_P256_COMPRESSED_PREFIX, bytes]), format: 'der', type: 'spki' });
  } catch {
    throw new KeyFormatError('device_public_key is not a point on P-256');
  }
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
