import { readFileSync } from 'node:fs';
import type { MetadataStatement, SettingsService } from '@simplewebauthn/server';
import type { DeviceAttestation } from '@sigilauth/protocol/wire';
import { simpleWebAuthn, simpleWebAuthnHelpers } from './library.js';

type RootCertIdentifier = Parameters<typeof SettingsService.getRootCertificates>[0]['identifier'];

/** Attestation formats that can prove a key lives in secure hardware, given a trusted root. */
export const HARDWARE_ATTESTATION_FORMATS: readonly string[] = ['packed', 'apple', 'android-key', 'tpm'];

/** What a software key (sigil-device) shows in the device list. */
export const SOFTWARE_ATTESTATION: DeviceAttestation = { format: 'software', verified: false };

/**
 * Names of common passkey providers by AAGUID, for the device list. These AAGUIDs are
 * self-declared and shown for information only; they never make an attestation verified.
 * Metadata statements (SIGIL_ATTESTATION_METADATA) name many more.
 */
const KNOWN_MODELS: Readonly<Record<string, string>> = {
  'fbfc3007-154e-4ecc-8c0b-6e020557d7bd': 'iCloud Keychain',
  'dd4ec289-e01d-41c9-bb89-70fa845d4bf2': 'iCloud Keychain (Managed)',
  'ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4': 'Google Password Manager',
  'adce0002-35bc-c60a-648b-0b25f1f05503': 'Chrome on Mac',
  '08987058-cadc-4b81-b6e1-30de50dcbe96': 'Windows Hello',
  '9ddd1817-af5a-4672-a2b9-3e3dd95000a9': 'Windows Hello',
  '6028b017-b1d4-4c02-b4b3-afcdafc96bb2': 'Windows Hello',
};

const ZERO_AAGUID = '00000000-0000-0000-0000-000000000000';

/**
 * Loads FIDO metadata statements (a JSON array, or an MDS3 payload's `entries` with
 * `metadataStatement`s) so packed and TPM attestations can be checked against their vendors'
 * roots, and models named. Without them, only the formats whose roots SimpleWebAuthn bundles
 * (apple, android-key) can be verified. Returns how many statements were loaded.
 */
export async function loadAttestationMetadata(file: string): Promise<number> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`SIGIL_ATTESTATION_METADATA: cannot read ${file}: ${(err as Error).message}`);
  }
  const list: unknown[] = Array.isArray(parsed)
    ? parsed
    : Array.isArray((parsed as { entries?: unknown[] })?.entries)
      ? (parsed as { entries: Array<{ metadataStatement?: unknown }> }).entries.map((e) => e.metadataStatement)
      : [];
  const statements = list.filter(
    (s): s is MetadataStatement => typeof s === 'object' && s !== null && typeof (s as { aaguid?: unknown }).aaguid === 'string',
  );
  if (statements.length === 0) throw new Error(`SIGIL_ATTESTATION_METADATA: ${file} holds no FIDO2 metadata statements`);
  const { MetadataService } = await simpleWebAuthn();
  await MetadataService.initialize({ mdsServers: [], statements, verificationMode: 'permissive' });
  return statements.length;
}

/**
 * What a verified registration's attestation proves. SimpleWebAuthn has already checked the
 * statement's signature and, where it had trust anchors (its bundled Apple and Google roots, or
 * a metadata statement's roots), the certificate path. `verified` is true only when such an
 * anchor existed: a self attestation, a `none` attestation, or a chain checked against nothing
 * proves nothing about where the key lives. With a metadata statement, SimpleWebAuthn checks
 * packed, TPM and android-key chains against the statement's roots alone, and skips the check
 * when it lists none.
 */
export async function describeAttestation(fmt: string, aaguid: string, attestationObject: Uint8Array): Promise<DeviceAttestation> {
  const { MetadataService, SettingsService } = await simpleWebAuthn();
  const { decodeAttestationObject } = await simpleWebAuthnHelpers();
  let statement: MetadataStatement | undefined;
  try {
    statement = aaguid === ZERO_AAGUID ? undefined : await MetadataService.getStatement(aaguid);
  } catch {
    statement = undefined;
  }
  const model = statement?.description ?? KNOWN_MODELS[aaguid];
  const base = { format: fmt, aaguid, ...(model ? { model } : {}) };
  if (!HARDWARE_ATTESTATION_FORMATS.includes(fmt)) return { ...base, verified: false };
  const x5c = decodeAttestationObject(new Uint8Array(attestationObject)).get('attStmt').get('x5c');
  const hasChain = Array.isArray(x5c) && x5c.length > 0;
  const anchors =
    statement && fmt !== 'apple'
      ? statement.attestationRootCertificates
      : SettingsService.getRootCertificates({ identifier: fmt as RootCertIdentifier });
  return { ...base, verified: hasChain && anchors.length > 0 };
}

export function attestationRefusal(attestation: DeviceAttestation): string {
  if (attestation.format === 'none') {
    return 'this server accepts only devices with verified hardware attestation (SIGIL_ATTESTATION_REQUIRED=true); the authenticator gave no attestation ("none")';
  }
  if (!HARDWARE_ATTESTATION_FORMATS.includes(attestation.format)) {
    return `this server accepts only devices with verified hardware attestation (SIGIL_ATTESTATION_REQUIRED=true); "${attestation.format}" attestation is not accepted`;
  }
  return `this server accepts only devices with verified hardware attestation (SIGIL_ATTESTATION_REQUIRED=true); this "${attestation.format}" attestation does not chain to a trusted root`;
}
