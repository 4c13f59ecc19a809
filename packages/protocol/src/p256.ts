/**
 * P-256 arithmetic a verifier needs outside node:crypto: low-S signatures, and the uncompressed
 * form of a compressed point (WebCrypto imports only uncompressed points everywhere).
 */
import { concatBytes, fromBase64, fromHex, toHex } from './bytes.js';
import { KeyFormatError } from './key-format.js';

/** The order n of the P-256 group. */
const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const HALF_ORDER = P256_ORDER >> 1n;
/** The field prime p and the curve's b (y² = x³ − 3x + b). */
const P256_P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const P256_B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;

const scalar = (bytes: Uint8Array): bigint => BigInt(`0x${toHex(bytes) || '0'}`);

/** True when a 64-byte r||s signature has s in the lower half of the group order (s ≤ n/2). */
export function isLowS(signature: Uint8Array): boolean {
  return signature.length === 64 && scalar(signature.subarray(32)) <= HALF_ORDER;
}

/**
 * The low-S twin of a 64-byte r||s signature: (r, n − s) when s > n/2. Both verify, so anyone can
 * turn one into the other; accepting only the low-S form gives every signature a single encoding.
 */
export function toLowSBytes(signature: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(signature);
  if (out.length !== 64 || isLowS(out)) return out;
  out.set(fromHex((P256_ORDER - scalar(out.subarray(32))).toString(16).padStart(64, '0')), 32);
  return out;
}

function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let result = 1n;
  base %= mod;
  while (exp > 0n) {
    if (exp & 1n) result = (result * base) % mod;
    base = (base * base) % mod;
    exp >>= 1n;
  }
  return result;
}

/** The 33-byte compressed SEC1 point of a device or server key (standard base64); throws KeyFormatError. */
export function compressedPointOf(encoded: string): Uint8Array<ArrayBuffer> {
  let bytes: Uint8Array<ArrayBuffer> | undefined;
  try {
    bytes = fromBase64(encoded);
  } catch {
    bytes = undefined;
  }
  if (bytes === undefined || bytes.length !== 33 || (bytes[0] !== 0x02 && bytes[0] !== 0x03)) {
    throw new KeyFormatError('device_public_key must be a 33-byte compressed P-256 point in standard base64');
  }
  return bytes;
}

/** The 65-byte uncompressed form (0x04 || x || y) of a 33-byte compressed point; throws KeyFormatError off the curve. */
export function decompressP256(compressed: Uint8Array): Uint8Array<ArrayBuffer> {
  if (compressed.length !== 33 || (compressed[0] !== 0x02 && compressed[0] !== 0x03))
    throw new KeyFormatError('not a compressed P-256 point');
  const x = scalar(compressed.subarray(1));
  if (x >= P256_P) throw new KeyFormatError('device_public_key is not a point on P-256');
  const rhs = (((x * x * x - 3n * x + P256_B) % P256_P) + P256_P) % P256_P;
  // p ≡ 3 (mod 4), so a square root of rhs, when there is one, is rhs^((p+1)/4).
  let y = modPow(rhs, (P256_P + 1n) / 4n, P256_P);
  if ((y * y) % P256_P !== rhs) throw new KeyFormatError('device_public_key is not a point on P-256');
  if ((y & 1n) !== BigInt(compressed[0]! & 1)) y = P256_P - y;
  return concatBytes(new Uint8Array([4]), compressed.subarray(1), fromHex(y.toString(16).padStart(64, '0')));
}
