/**
 * The one software passkey authenticator of the test suites, and the pairing ceremony it goes
 * through. Its attestation is real X.509: a test CA issues an attestation certificate, and the
 * authenticator signs `packed` attestation statements with it, as a hardware key from a vendor
 * whose FIDO metadata statement names that CA would.
 */
import 'reflect-metadata'; // @peculiar/x509 needs it loaded first
import { createHash, ECDH, KeyObject, randomBytes, sign, webcrypto, type KeyObject as NodeKey } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { isoCBOR } from '@simplewebauthn/server/helpers';
import { decodePublicKey, encodePublicKey, fingerprintOf, generateP256KeyPair } from '@sigilauth/protocol';
import type { Api, ApiResponse } from './api.js';
import type { WebAuthnAssertion } from '@sigilauth/protocol/wire';

x509.cryptoProvider.set(webcrypto as never);

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const DAY = 86_400_000;
const ZERO_AAGUID = '00000000-0000-0000-0000-000000000000';
const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_AT = 0x40;
const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

const b64u = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest();

/** The x and y coordinates of a P-256 public key, from its point (not JWK: see encodePublicKey). */
function coordinates(publicKey: NodeKey): { x: Buffer; y: Buffer } {
  const point = ECDH.convertKey(
    Buffer.from(encodePublicKey(publicKey), 'base64'),
    'prime256v1',
    undefined,
    undefined,
    'uncompressed',
  ) as Buffer;
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

export interface Certificate {
  /** DER */
  der: Buffer;
  /** Signs as this certificate's subject (DER ECDSA over SHA-256). */
  privateKey: NodeKey;
  cryptoKey: webcrypto.CryptoKey;
  subject: string;
}

/** A self-signed certificate authority. */
export async function testCa(name = 'CN=Sigil Test Attestation Root, O=Sigil Tests, C=NL'): Promise<Certificate> {
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name,
    keys: keys as never,
    signingAlgorithm: EC,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + 365 * DAY),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as never),
    ],
  });
  return { der: Buffer.from(cert.rawData), privateKey: KeyObject.from(keys.privateKey), cryptoKey: keys.privateKey, subject: name };
}

/**
 * An attestation certificate issued by `ca`, with what `packed` requires of one (version 3,
 * OU "Authenticator Attestation", not a CA); `validity` moves its window (an expired one, say).
 */
export async function attestationCertificate(ca: Certificate, validity: { notBefore?: Date; notAfter?: Date } = {}): Promise<Certificate> {
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const subject = 'C=NL, O=Sigil Tests, OU=Authenticator Attestation, CN=Sigil Test Authenticator';
  const cert = await x509.X509CertificateGenerator.create({
    subject,
    issuer: ca.subject,
    publicKey: keys.publicKey as never,
    signingKey: ca.cryptoKey as never,
    signingAlgorithm: EC,
    notBefore: validity.notBefore ?? new Date(Date.now() - DAY),
    notAfter: validity.notAfter ?? new Date(Date.now() + 365 * DAY),
    extensions: [new x509.BasicConstraintsExtension(false, undefined, true)],
  });
  return { der: Buffer.from(cert.rawData), privateKey: KeyObject.from(keys.privateKey), cryptoKey: keys.privateKey, subject };
}

/** What a registration's attestation statement holds. */
export type Attestation =
  | { format: 'none' }
  /** packed, signed by the credential key itself: no certificate */
  | { format: 'self' }
  /** packed with a certificate chain: x5c, leaf first, the statement signed by `signer` (the leaf's key, or another to forge one) */
  | { format: 'packed'; x5c: Buffer[]; signer: NodeKey };

/** A FIDO metadata statement for SIGIL_ATTESTATION_METADATA. */
export function metadataStatement(aaguid: string, description: string, roots: Certificate[]) {
  return {
    aaguid,
    description,
    attestationTypes: ['basic_full'],
    authenticationAlgorithms: ['secp256r1_ecdsa_sha256_raw'],
    attestationRootCertificates: roots.map((r) => r.der.toString('base64')),
  };
}

/** The credential JSON navigator.credentials.create() gives the approver page. */
export interface RegistrationJson {
  id: string;
  rawId: string;
  type: 'public-key';
  authenticatorAttachment: string;
  response: { clientDataJSON: string; attestationObject: string; transports: string[] };
  clientExtensionResults: Record<string, never>;
}

/**
 * A passkey authenticator in software, as a browser drives one for the origin given: a P-256
 * credential key bound to one relying party, user presence and verification on every use, a
 * signature counter that rises with each. It registers with the attestation asked for, and signs
 * assertions: the pairing's proof of possession, sign-ins and decisions. Made with `claiming`, it
 * is what an attacker who copied someone else's device key from `/v1/devices` can build:
 * registrations naming that key, and signatures by a key of its own (it has no other).
 */
export class SoftwarePasskey {
  readonly credentialId = randomBytes(16);
  private counter = 0;

  private constructor(
    readonly origin: string,
    readonly rpId: string,
    readonly aaguid: string,
    /** The key the registration names. */
    readonly publicKey: NodeKey,
    /** The key it signs with: the same key, unless it is an impostor. */
    private readonly signingKey: NodeKey,
  ) {}

  static create(origin: string, options: { rpId?: string; aaguid?: string } = {}): SoftwarePasskey {
    const { privateKey, publicKey } = generateP256KeyPair();
    return new SoftwarePasskey(origin, options.rpId ?? 'localhost', options.aaguid ?? ZERO_AAGUID, publicKey, privateKey);
  }

  /** An impostor: registers someone else's public key (a device key as `/v1/devices` lists it) and can only sign with its own. */
  static claiming(origin: string, victimPublicKey: string, options: { rpId?: string } = {}): SoftwarePasskey {
    return new SoftwarePasskey(
      origin,
      options.rpId ?? 'localhost',
      ZERO_AAGUID,
      decodePublicKey(victimPublicKey),
      generateP256KeyPair().privateKey,
    );
  }

  get id(): string {
    return b64u(this.credentialId);
  }

  get devicePublicKey(): string {
    return encodePublicKey(this.publicKey);
  }

  get fingerprint(): string {
    return fingerprintOf(this.devicePublicKey);
  }

  /** The approver a request names for this passkey. */
  get approver(): { fingerprint: string; device_public_key: string } {
    return { fingerprint: this.fingerprint, device_public_key: this.devicePublicKey };
  }

  private authData(flags: number, attested: Buffer | null): Buffer {
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(++this.counter);
    return Buffer.concat([sha256(this.rpId), Buffer.from([flags]), counter, ...(attested ? [attested] : [])]);
  }

  /** The attested credential data: AAGUID, credential id and the public key as COSE (ES256). */
  private attestedCredential(): Buffer {
    const { x, y } = coordinates(this.publicKey);
    const cose = isoCBOR.encode(
      new Map<number, number | Uint8Array>([
        [1, 2], // kty: EC2
        [3, -7], // alg: ES256
        [-1, 1], // crv: P-256
        [-2, x],
        [-3, y],
      ]) as never,
    );
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(this.credentialId.length);
    return Buffer.concat([Buffer.from(this.aaguid.replace(/-/g, ''), 'hex'), idLength, this.credentialId, Buffer.from(cose)]);
  }

  private clientData(type: 'webauthn.create' | 'webauthn.get', challenge: string): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin: this.origin, crossOrigin: false }));
  }

  /** navigator.credentials.create() over the server's registration challenge (base64url). */
  register(challenge: string, attestation: Attestation = { format: 'none' }): RegistrationJson {
    const authData = this.authData(FLAG_UP | FLAG_UV | FLAG_AT, this.attestedCredential());
    const clientDataJSON = this.clientData('webauthn.create', challenge);
    const signed = Buffer.concat([authData, sha256(clientDataJSON)]);
    const attStmt =
      attestation.format === 'none'
        ? new Map()
        : attestation.format === 'self'
          ? new Map<string, unknown>([
              ['alg', -7],
              ['sig', sign('sha256', signed, this.signingKey)],
            ])
          : new Map<string, unknown>([
              ['alg', -7],
              ['sig', sign('sha256', signed, attestation.signer)],
              ['x5c', attestation.x5c],
            ]);
    const attestationObject = isoCBOR.encode(
      new Map<string, unknown>([
        ['fmt', attestation.format === 'none' ? 'none' : 'packed'],
        ['attStmt', attStmt],
        ['authData', authData],
      ]) as never,
    );
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      authenticatorAttachment: 'cross-platform',
      response: { clientDataJSON: b64u(clientDataJSON), attestationObject: b64u(attestationObject), transports: ['usb'] },
      clientExtensionResults: {},
    };
  }

  /**
   * navigator.credentials.get() over a challenge: raw bytes (a decision's), or the base64url a
   * server sent. `s` picks the signature's S half: authenticators are free to give either (see
   * docs/protocol.md), so tests make both.
   */
  assert(challenge: string | Uint8Array, options: { s?: 'low' | 'high' } = {}): WebAuthnAssertion {
    const authenticatorData = this.authData(FLAG_UP | FLAG_UV, null);
    const clientData = this.clientData('webauthn.get', typeof challenge === 'string' ? challenge : b64u(challenge));
    const raw = sign('sha256', Buffer.concat([authenticatorData, sha256(clientData)]), { key: this.signingKey, dsaEncoding: 'ieee-p1363' });
    const r = BigInt(`0x${raw.subarray(0, 32).toString('hex')}`);
    let s = BigInt(`0x${raw.subarray(32).toString('hex')}`);
    const high = s > P256_ORDER >> 1n;
    if ((options.s === 'low' && high) || (options.s === 'high' && !high)) s = P256_ORDER - s;
    return {
      credential_id: this.id,
      authenticator_data: b64u(authenticatorData),
      client_data_json: b64u(clientData),
      signature: b64u(der(r, s)),
    };
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

/** The approver session cookie a response set, ready for a Cookie header; null when it set none. */
export function sessionCookie(res: ApiResponse): string | null {
  const header = res.headers.get('set-cookie');
  const match = header?.match(/sigil_approver=([A-Za-z0-9_-]{43})/);
  return match ? `sigil_approver=${match[1]}` : null;
}

export interface PasskeyPairingOptions {
  /** The device name sent with the code; "Passkey" unless given. */
  name?: string;
  /** The registration's attestation statement; `none` unless given. */
  attestation?: Attestation;
  /** `omit` leaves the proof out, as a client of the API before proof of possession would. */
  proof?: 'sign' | 'omit';
  /** The challenge the proof signs, from the options; the options' proof challenge unless given. */
  proofChallenge?: (opened: { options: { challenge: string }; proof: { challenge: string } }) => string;
}

export interface PasskeyPairingResult {
  /** The answer to `/approve/api/pair/options`. */
  options: ApiResponse;
  /** What was posted to `/approve/api/pair/complete` (to replay it), and the answer; null when the options were refused. */
  sent: Record<string, unknown> | null;
  complete: ApiResponse | null;
  /** The approver session the pairing opened, as a Cookie header; null when it opened none. */
  cookie: string | null;
}

/**
 * Pairs a passkey through the web approver's API as its page does: the code for creation
 * options, the registration over their challenge, then the new passkey's assertion over their
 * proof challenge (possession of its key), both posted to complete the pairing.
 */
export async function pairPasskey(
  api: Api,
  code: string,
  passkey: SoftwarePasskey,
  options: PasskeyPairingOptions = {},
): Promise<PasskeyPairingResult> {
  const anon = api.withKey(null);
  const name = options.name ?? 'Passkey';
  const opened = await anon.post('/approve/api/pair/options', { code, name });
  if (opened.status !== 200) return { options: opened, sent: null, complete: null, cookie: null };
  const sent: Record<string, unknown> = {
    challenge_id: opened.body.challenge_id,
    code,
    name,
    credential: passkey.register(opened.body.options.challenge, options.attestation),
  };
  if ((options.proof ?? 'sign') === 'sign')
    sent.proof = passkey.assert(options.proofChallenge ? options.proofChallenge(opened.body) : opened.body.proof.challenge);
  const complete = await anon.post('/approve/api/pair/complete', sent);
  return { options: opened, sent, complete, cookie: sessionCookie(complete) };
}
