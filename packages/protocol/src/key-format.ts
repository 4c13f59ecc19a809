/** What a key or fingerprint must look like on the wire; the same in every runtime. */
export const FINGERPRINT_PATTERN = /^[0-9a-f]{64}$/;

export class KeyFormatError extends Error {
  override name = 'KeyFormatError';
}

export function isFingerprint(value: unknown): value is string {
  return typeof value === 'string' && FINGERPRINT_PATTERN.test(value);
}
