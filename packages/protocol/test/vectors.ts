import { readFileSync } from 'node:fs';
import type { DomainTag, MpaAction } from '../src/index.js';

function load<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../test-vectors/${name}`, import.meta.url), 'utf8')) as T;
}

export interface JcsCase {
  name: string;
  input_json?: string;
  ieee_hex?: string;
}

export const jcsVectors = load<{
  valid: (JcsCase & { expected: string })[];
  invalid: (JcsCase & { error: string })[];
}>('jcs.json');

export interface KeyVector {
  label: string;
  private_key_pkcs8_pem: string;
  jwk: { kty: 'EC'; crv: 'P-256'; d: string; x: string; y: string };
  public_key: string;
  public_key_uncompressed_hex: string;
  fingerprint: string;
}

export const keyVectors = load<{ keys: KeyVector[]; invalid: { name: string; public_key: string; error: string }[] }>('keys.json');

export function keyVector(label: string): KeyVector {
  const key = keyVectors.keys.find((k) => k.label === label);
  if (!key) throw new Error(`no key vector ${label}`);
  return key;
}

export interface SignatureCase {
  name: string;
  tag: DomainTag;
  public_key: string;
  payload: Record<string, unknown>;
  signature: string;
}

export const signatureVectors = load<{
  valid: (SignatureCase & {
    tag_name: keyof typeof DomainTag;
    signer: string;
    action?: Required<MpaAction>;
    canonical_payload: string;
    signing_input_hex: string;
  })[];
  invalid: SignatureCase[];
}>('signatures.json');

export const pictogramVectors = load<{
  vectors: { server_id: string; indexes: number[]; emoji: string[]; names: string[]; text: string }[];
}>('pictogram.json');

export const rfc6962Vectors = load<{
  emptyRoot: string;
  leaves: string[];
  leafHashes: string[];
  roots: string[];
  inclusion: { index: number; size: number; proof: string[] }[];
  consistency: { from: number; to: number; proof: string[] }[];
}>('rfc6962.json');
