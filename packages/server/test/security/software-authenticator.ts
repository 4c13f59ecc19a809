import { createHash, ECDH, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';
import { decodePublicKey, encodePublicKey, fingerprintOf, generateP256KeyPair, type WebAuthnAssertion } from '@sigilauth/protocol';

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_AT = 0x40;
const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

const b64u = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest();

/** The x and y coordinates of a P-256 public key (from its point, not JWK: see encodePublicKey). */
function coordinates(publicKey: KeyObject): { x: Buffer; y: Buffer } {
  const point = ECDH.convertKey(Buffer.from(encodePublicKey(publicKey), 'base64'), 'prime256v1', undefined, undefined, 'uncompressed') as Buffer;
  return { x: point.subarray(1, 33), y: point.subarray(33, 65) };
}

/** A DER ECDSA-Sig-Value from r and s. */
function der(r: bigint, s: bigint): Buffer {
  const int = (v: bigint) => {
    let bytes = Buffer.from(v.toString(16).padStart(64, '0'), 'hex');
    while (bytes.length > 1 && bytes[0] === 0 && bytes[1]! < 0x80) bytes = bytes.subarray(1);
    if (bytes[0]! & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
    return Buffer.concat([Buffer.from([2, bytes.length]), bytes]);
  };
  const body = Buffer.concat([int(r), int(s)]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

export interface RegistrationJson {
  id: string;
  rawId: string;
  type: 'public-key';
  response: { clientDataJSON: string; attestationObject: string; transports: string[] };
  clientExtensionResults: Record<string, never>;
}

/**
 * A WebAuthn platform authenticator in software, as a browser with Face ID would drive it for the
 * origin given: `none` attestation, user presence and verification, a signature counter. Its
 * credential's key is `key`, or a fresh one. Constructed from a public key alone
 * (`SoftwareAuthenticator.claiming`), it is what an attacker who copied someone else's device key
 * from `/v1/devices` can build: registrations naming that key, and assertions signed by a key of
 * its own (it has no other).
 */
export class SoftwareAuthenticator {
  readonly credentialId = randomBytes(16);
  private counter = 0;

  private constructor(
    readonly origin: string,
    readonly rpId: string,
    /** The key the registration names. */
    readonly publicKey: KeyObject,
    /** The key assertions are signed with: the same key, unless this is an impostor. */
    private readonly signingKey: KeyObject,
  ) {}

  static create(origin: string, rpId = 'localhost'): SoftwareAuthenticator {
    const { privateKey, publicKey } = generateP256KeyPair();
    return new SoftwareAuthenticator(origin, rpId, publicKey, privateKey);
  }

  /** An impostor: registers someone else's public key (a device key as `/v1/devices` lists it) and can only sign with its own. */
  static claiming(origin: string, victimPublicKey: string, rpId = 'localhost'): SoftwareAuthenticator {
    return new SoftwareAuthenticator(origin, rpId, decodePublicKey(victimPublicKey), generateP256KeyPair().privateKey);
  }

  get devicePublicKey(): string {
    return encodePublicKey(this.publicKey);
  }

  get fingerprint(): string {
    return fingerprintOf(this.devicePublicKey);
  }

  get id(): string {
    return b64u(this.credentialId);
  }

  private authData(flags: number, attested: Buffer | null): Buffer {
    const count = Buffer.alloc(4);
    count.writeUInt32BE(this.counter);
    return Buffer.concat([sha256(this.rpId), Buffer.from([flags]), count, ...(attested ? [attested] : [])]);
  }

  private clientData(type: 'webauthn.create' | 'webauthn.get', challenge: string): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin: this.origin, crossOrigin: false }));
  }

  /** navigator.credentials.create() over the server's registration challenge (base64url). */
  register(challenge: string): RegistrationJson {
    const { x, y } = coordinates(this.publicKey);
    const cose = isoCBOR.encode(new Map<number, number | Uint8Array>([[1, 2], [3, -7], [-1, 1], [-2, x], [-3, y]]) as never);
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(this.credentialId.length);
    const attested = Buffer.concat([Buffer.alloc(16), idLength, this.credentialId, Buffer.from(cose)]);
    const attestationObject = isoCBOR.encode(
      new Map<string, unknown>([['fmt', 'none'], ['attStmt', new Map()], ['authData', this.authData(FLAG_UP | FLAG_UV | FLAG_AT, attested)]]) as never,
    );
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: { clientDataJSON: b64u(this.clientData('webauthn.create', challenge)), attestationObject: b64u(attestationObject), transports: ['internal'] },
      clientExtensionResults: {},
    };
  }

  /**
   * navigator.credentials.get() over a challenge (base64url). `s` picks the signature's S half:
   * authenticators are free to give either (see docs/protocol.md), so tests make both.
   */
  assert(challenge: string, options: { s?: 'low' | 'high'; counter?: boolean } = {}): WebAuthnAssertion {
    if (options.counter) this.counter++;
    const authenticatorData = this.authData(FLAG_UP | FLAG_UV, null);
    const clientData = this.clientData('webauthn.get', challenge);
    const raw = sign('sha256', Buffer.concat([authenticatorData, sha256(clientData)]), { key: this.signingKey, dsaEncoding: 'ieee-p1363' });
    const r = BigInt(`0x${raw.subarray(0, 32).toString('hex')}`);
    let s = BigInt(`0x${raw.subarray(32).toString('hex')}`);
    const high = s > P256_ORDER >> 1n;
    if ((options.s === 'low' && high) || (options.s === 'high' && !high)) s = P256_ORDER - s;
    return { credential_id: this.id, authenticator_data: b64u(authenticatorData), client_data_json: b64u(clientData), signature: b64u(der(r, s)) };
  }
}

/** The other-S twin of a DER assertion signature: (r, n - s). Both verify. */
export function negateS(derSignature: string): string {
  const bytes = Buffer.from(derSignature, 'base64url');
  const rLength = bytes[3]!;
  const r = BigInt(`0x${bytes.subarray(4, 4 + rLength).toString('hex')}`);
  const s = BigInt(`0x${bytes.subarray(4 + rLength + 2).toString('hex')}`);
  return b64u(der(r, P256_ORDER - s));
}
