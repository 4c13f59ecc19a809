/**
 * Sigil's tamper-evident audit log, as a verifier sees it: RFC 6962 (Certificate Transparency)
 * Merkle hashing, the inclusion and consistency proof verifiers of RFC 9162 §2.1.3.2 and
 * §2.1.4.2, the encoding of one audit entry as a leaf, and signed tree heads.
 *
 * Pure: SHA-256 and ECDSA from node:crypto only, no I/O. The server builds trees and proofs with
 * the same hashing (packages/server/src/audit/merkle.ts); an integrator verifies offline here.
 *
 * Hashes may be given as bytes (Buffer / Uint8Array) or as 64 lower- or upper-case hex
 * characters, the form the HTTP API uses. Verifiers never throw: anything malformed is `false`.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { canonicalize } from './jcs.js';
import { DomainTag, verifyPayload } from './signing.js';

/** Byte length of every hash in the tree (SHA-256). */
export const MERKLE_HASH_SIZE = 32;

/** A hash as bytes, or as 64 hex characters. */
export type HashInput = Uint8Array | string;

const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);
const HEX_HASH = /^[0-9a-fA-F]{64}$/;

/** Leaf hash: SHA-256(0x00 || data). */
export function merkleLeafHash(data: Uint8Array): Buffer {
  return createHash('sha256').update(LEAF_PREFIX).update(data).digest();
}

/** Interior node hash: SHA-256(0x01 || left || right). */
export function merkleNodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}

/** Root of the empty tree: SHA-256(""). */
export function merkleEmptyRoot(): Buffer {
  return createHash('sha256').digest();
}

/**
 * Checks an audit path (RFC 9162 §2.1.3.2): that `leafHash` is leaf number `index` (zero-based)
 * of the tree of `size` leaves whose root is `root`. `proof` is ordered from the leaf's sibling up.
 */
export function verifyInclusion(
  leafHash: HashInput,
  index: number,
  size: number,
  proof: readonly HashInput[],
  root: HashInput,
): boolean {
  if (!isIndex(index) || !isIndex(size) || index >= size) return false;
  const leaf = toHash(leafHash);
  const expected = toHash(root);
  const path = toHashes(proof);
  if (leaf === null || expected === null || path === null) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of path) {
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      r = merkleNodeHash(p, r);
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = merkleNodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && r.equals(expected);
}

/**
 * Checks a consistency proof (RFC 9162 §2.1.4.2): that the tree of `from` leaves with root
 * `fromRoot` is a prefix of the tree of `to` leaves with root `toRoot`. from == to needs an empty
 * proof and equal roots; from == 0 (the empty tree has no proof) and from > to are false.
 */
export function verifyConsistency(
  from: number,
  to: number,
  fromRoot: HashInput,
  toRoot: HashInput,
  proof: readonly HashInput[],
): boolean {
  if (!isIndex(from) || !isIndex(to) || from === 0 || from > to) return false;
  const first = toHash(fromRoot);
  const second = toHash(toRoot);
  const nodes = toHashes(proof);
  if (first === null || second === null || nodes === null) return false;
  if (from === to) return nodes.length === 0 && first.equals(second);
  if (nodes.length === 0) return false;

  const path = isPowerOfTwo(from) ? [first, ...nodes] : nodes;
  let fn = from - 1;
  let sn = to - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0] as Buffer;
  let sr = fr;
  for (let i = 1; i < path.length; i++) {
    const c = path[i] as Buffer;
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      fr = merkleNodeHash(c, fr);
      sr = merkleNodeHash(c, sr);
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = merkleNodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && fr.equals(first) && sr.equals(second);
}

// ---------------------------------------------------------------------------
// Sigil audit entries and tree heads
// ---------------------------------------------------------------------------

/** The fields of one audit log entry that its leaf commits to, exactly as GET /v1/audit returns them. */
export interface AuditLeafEntry {
  leaf_index: number;
  tenant_id: string;
  type: string;
  request_id: string | null;
  data: Record<string, unknown>;
  /** RFC 3339 UTC with milliseconds, e.g. "2026-01-31T12:00:00.000Z". */
  created_at: string;
}

/**
 * The leaf data of an entry: the UTF-8 bytes of the RFC 8785 canonical JSON of exactly
 * {created_at, data, leaf_index, request_id, tenant_id, type}. Other fields are ignored.
 */
export function auditLeafData(entry: AuditLeafEntry): Buffer {
  const { leaf_index, tenant_id, type, request_id, data, created_at } = entry;
  return Buffer.from(canonicalize({ leaf_index, tenant_id, type, request_id, data, created_at }), 'utf8');
}

/** The entry's RFC 6962 leaf hash, lower-case hex. */
export function auditLeafHash(entry: AuditLeafEntry): string {
  return merkleLeafHash(auditLeafData(entry)).toString('hex');
}

/** What the server signs, under DomainTag.treeHead, about one tenant's log. */
export interface TreeHead {
  purpose: 'audit-tree-head';
  server_id: string;
  tenant_id: string;
  tree_size: number;
  /** Lower-case hex Merkle root of the first tree_size leaves. */
  root_hash: string;
  /** Unix time in milliseconds when the head was signed. */
  timestamp: number;
}

export interface SignedTreeHead {
  payload: TreeHead;
  /** ECDSA P-256 / SHA-256 over the domain-tagged canonical payload, 64-byte r||s, standard base64. */
  signature: string;
}

/** True when the tree head is well formed and signed by the server key given (pin it; see GET /v1/info). */
export function verifyTreeHead(head: SignedTreeHead, serverPublicKey: KeyObject | string): boolean {
  const p = head?.payload;
  if (typeof p !== 'object' || p === null || p.purpose !== 'audit-tree-head') return false;
  if (!isIndex(p.tree_size) || !isIndex(p.timestamp) || typeof p.root_hash !== 'string' || !/^[0-9a-f]{64}$/.test(p.root_hash)) return false;
  if (typeof p.tenant_id !== 'string' || typeof p.server_id !== 'string' || typeof head.signature !== 'string') return false;
  return verifyPayload(DomainTag.treeHead, p, head.signature, serverPublicKey);
}

/** GET /v1/audit/proof/inclusion, as far as a verifier needs it. */
export interface InclusionProofBody {
  leaf_index: number;
  tree_size: number;
  leaf_hash: string;
  audit_path: string[];
}

/** GET /v1/audit/proof/consistency, as far as a verifier needs it. */
export interface ConsistencyProofBody {
  from: number;
  to: number;
  proof: string[];
}

/**
 * Checks that an entry is in the log summarised by a tree head: the entry's recomputed leaf
 * hash (when `entry` is given; else the proof's leaf_hash) at the proof's index, in a tree of the
 * head's size whose root is the head's root. Check the head's signature with verifyTreeHead.
 */
export function verifyAuditInclusion(proof: InclusionProofBody, head: TreeHead, entry?: AuditLeafEntry): boolean {
  try {
    if (proof.tree_size !== head.tree_size) return false;
    let leaf: string = proof.leaf_hash;
    if (entry !== undefined) {
      if (entry.leaf_index !== proof.leaf_index) return false;
      leaf = auditLeafHash(entry);
      if (typeof proof.leaf_hash === 'string' && proof.leaf_hash.toLowerCase() !== leaf) return false;
    }
    return verifyInclusion(leaf, proof.leaf_index, head.tree_size, proof.audit_path ?? [], head.root_hash);
  } catch {
    return false;
  }
}

/** Checks that the `newer` head's log extends the `older` head's log without rewriting it. */
export function verifyAuditConsistency(proof: ConsistencyProofBody, older: TreeHead, newer: TreeHead): boolean {
  try {
    if (proof.from !== older.tree_size || proof.to !== newer.tree_size || older.tenant_id !== newer.tenant_id) return false;
    // Every log extends the empty one; RFC 6962 has no proof for it, so an empty proof is expected.
    if (older.tree_size === 0) return (proof.proof ?? []).length === 0;
    return verifyConsistency(older.tree_size, newer.tree_size, older.root_hash, newer.root_hash, proof.proof ?? []);
  } catch {
    return false;
  }
}

function toHash(value: HashInput): Buffer | null {
  if (typeof value === 'string') return HEX_HASH.test(value) ? Buffer.from(value, 'hex') : null;
  if (!(value instanceof Uint8Array) || value.length !== MERKLE_HASH_SIZE) return null;
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

function toHashes(values: readonly HashInput[]): Buffer[] | null {
  if (!Array.isArray(values)) return null;
  const out: Buffer[] = [];
  for (const v of values) {
    const h = toHash(v);
    if (h === null) return null;
    out.push(h);
  }
  return out;
}

function isIndex(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

function isPowerOfTwo(n: number): boolean {
  let k = 1;
  while (k < n) k *= 2;
  return k === n;
}

// Arithmetic rather than bitwise shifts, so sizes above 2^32 stay correct.
function isOdd(n: number): boolean {
  return n % 2 === 1;
}

function half(n: number): number {
  return Math.floor(n / 2);
}
