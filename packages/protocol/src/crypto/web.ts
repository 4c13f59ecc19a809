/** SigilCrypto with WebCrypto (crypto.subtle): browsers, and any runtime that has it. */
import { concatBytes } from '../bytes.js';
import { decompressP256, toLowSBytes } from '../p256.js';
import type { SigilCrypto } from './types.js';

const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as const;

/** A copy in a fresh ArrayBuffer, the only BufferSource every WebCrypto accepts. */
const own = (bytes: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(bytes);

export const webCrypto: SigilCrypto = {
  sha256: async (data) => new Uint8Array(await crypto.subtle.digest('SHA-256', own(data))),
  async verifyP256(publicKey, message, signature) {
    try {
      const key = await crypto.subtle.importKey('raw', decompressP256(publicKey), ECDSA_P256, false, ['verify']);
      return await crypto.subtle.verify(ECDSA_SHA256, key, own(signature), own(message));
    } catch {
      return false;
    }
  },
  async generateP256() {
    const pair = await crypto.subtle.generateKey(ECDSA_P256, false, ['sign', 'verify']);
    const raw = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
    return {
      privateKey: pair.privateKey,
      publicKey: concatBytes(new Uint8Array([(raw[64]! & 1) === 1 ? 0x03 : 0x02]), raw.subarray(1, 33)),
    };
  },
  signP256: async (privateKey, message) =>
    toLowSBytes(
      new Uint8Array(await crypto.subtle.sign(ECDSA_SHA256, privateKey as Parameters<typeof crypto.subtle.sign>[1], own(message))),
    ),
};
