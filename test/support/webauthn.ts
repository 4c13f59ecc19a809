/**
 * A software passkey authenticator for tests, with real X.509 attestation: a test CA issues an
 * attestation certificate, and the authenticator signs `packed` attestation statements with it,
 * as a hardware key from a vendor whose FIDO metadata statement names that CA would.
 */
import 'reflect-metadata'; // @peculiar/x509 needs it loaded first
import { createHash, generateKeyPairSync, KeyObject, randomBytes, sign, webcrypto, type KeyObject as NodeKey } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { isoCBOR } from '@simplewebauthn/server/helpers';

x509.cryptoProvider.set(webcrypto as never);

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const DAY = 86_400_000;

const b64u = (bytes: Uint8Array | Buffer) => Buffer.from(bytes).toString('base64url');

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
  /** packed with a certificate chain: x5c, leaf first; the leaf's key signs unless `signer` is given */
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

/** A passkey: a P-256 credential key, bound to one relying party, with a signature counter. */
export class SoftwarePasskey {
  readonly credentialId = randomBytes(16);
  private readonly key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  private counter = 0;

  constructor(
    readonly rpId: string,
    readonly origin: string,
    readonly aaguid = '00000000-0000-0000-0000-000000000000',
  ) {}

  get id(): string {
    return b64u(this.credentialId);
  }

  private authData(flags: number, attested: boolean): Buffer {
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(++this.counter);
    const parts = [createHash('sha256').update(this.rpId).digest(), Buffer.from([flags]), counter];
    if (attested) {
      const jwk = this.key.publicKey.export({ format: 'jwk' });
      const cose = isoCBOR.encode(
        new Map<number, number | Uint8Array>([
          [1, 2], // kty: EC2
          [3, -7], // alg: ES256
          [-1, 1], // crv: P-256
          [-2, Buffer.from(jwk.x!, 'base64url')],
          [-3, Buffer.from(jwk.y!, 'base64url')],
        ]) as never,
      );
      const idLength = Buffer.alloc(2);
      idLength.writeUInt16BE(this.credentialId.length);
      parts.push(Buffer.from(this.aaguid.replace(/-/g, ''), 'hex'), idLength, this.credentialId, Buffer.from(cose));
    }
    return Buffer.concat(parts);
  }

  private clientData(type: 'webauthn.create' | 'webauthn.get', challenge: string): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin: this.origin, crossOrigin: false }));
  }

  /** navigator.credentials.create(): the credential JSON the approver page posts. User present and verified. */
  register(challenge: string, attestation: Attestation) {
    const authData = this.authData(0x45, true); // UP | UV | AT
    const clientDataJSON = this.clientData('webauthn.create', challenge);
    const signed = Buffer.concat([authData, createHash('sha256').update(clientDataJSON).digest()]);
    const attStmt =
      attestation.format === 'none'
        ? new Map()
        : attestation.format === 'self'
          ? new Map<string, unknown>([['alg', -7], ['sig', sign('sha256', signed, this.key.privateKey)]])
          : new Map<string, unknown>([['alg', -7], ['sig', sign('sha256', signed, attestation.signer)], ['x5c', attestation.x5c]]);
    const attestationObject = isoCBOR.encode(
      new Map<string, unknown>([['fmt', attestation.format === 'none' ? 'none' : 'packed'], ['attStmt', attStmt], ['authData', authData]]) as never,
    );
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key' as const,
      authenticatorAttachment: 'cross-platform',
      response: { clientDataJSON: b64u(clientDataJSON), attestationObject: b64u(attestationObject), transports: ['usb'] },
      clientExtensionResults: {},
    };
  }

  /** navigator.credentials.get() over a challenge (raw bytes), in the decision endpoint's `webauthn` form. */
  assert(challenge: Buffer) {
    const authData = this.authData(0x05, false); // UP | UV
    const clientDataJSON = this.clientData('webauthn.get', b64u(challenge));
    const signature = sign('sha256', Buffer.concat([authData, createHash('sha256').update(clientDataJSON).digest()]), this.key.privateKey);
    return { credential_id: this.id, authenticator_data: b64u(authData), client_data_json: b64u(clientDataJSON), signature: b64u(signature) };
  }
}
