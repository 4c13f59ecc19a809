/**
 * The cryptography Sigil's runtime-neutral code needs, behind one interface: @sigilauth/protocol/
 * crypto/node implements it with node:crypto, @sigilauth/protocol/crypto/web with WebCrypto.
 */
export interface SigilCrypto {
  sha256(data: Uint8Array): Promise<Uint8Array>;
  /**
   * ECDSA P-256 / SHA-256 over `message`: true when `signature` (64-byte r||s) verifies under
   * `publicKey` (33-byte compressed SEC1 point). Never throws: a malformed key is false.
   */
  verifyP256(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean>;
  /** A new key pair: the private key stays in the runtime's own key type; the public key is 33 compressed bytes. */
  generateP256(): Promise<{ privateKey: unknown; publicKey: Uint8Array }>;
  /** ECDSA P-256 / SHA-256 over `message` with a key from generateP256: 64-byte r||s with low S. */
  signP256(privateKey: unknown, message: Uint8Array): Promise<Uint8Array>;
}
