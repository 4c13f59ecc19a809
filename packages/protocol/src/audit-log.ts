/**
 * Sigil's tamper-evident audit log, as a verifier in any runtime sees it: the encoding of one
 * audit entry as an RFC 6962 leaf, signed tree heads, and the checks of inclusion and
 * consistency proofs against them (as Hashing computations; see merkle.ts).
 */
import { toHex, utf8 } from './bytes.js';
import type { SigilCrypto } from './crypto/types.js';
import { DomainTag, verifyPayloadWith } from './domain.js';
import { canonicalize } from './jcs.js';
import { consistencyHolds, inclusionHolds, isIndex, leafHash, type Hashing } from './merkle.js';
import type { AuditEntry, ConsistencyProof, InclusionProof, SignedTreeHead, TreeHead } from './wire/audit.js';

/** The fields of one audit log entry that its leaf commits to, exactly as GET /v1/audit returns them once it is in the tree. */
export type AuditLeafEntry = Pick<AuditEntry, 'tenant_id' | 'type' | 'request_id' | 'data' | 'created_at'> & { leaf_index: number };

/** GET /v1/audit/proof/inclusion, as far as a verifier needs it. */
export type InclusionProofBody = Pick<InclusionProof, 'leaf_index' | 'tree_size' | 'leaf_hash' | 'audit_path'>;

/** GET /v1/audit/proof/consistency, as far as a verifier needs it. */
export type ConsistencyProofBody = Pick<ConsistencyProof, 'from' | 'to' | 'proof'>;

/**
 * The leaf data of an entry: the UTF-8 bytes of the RFC 8785 canonical JSON of exactly
 * {created_at, data, leaf_index, request_id, tenant_id, type}. Other fields are ignored.
 */
export function auditLeafBytes(entry: AuditLeafEntry): Uint8Array<ArrayBuffer> {
  const { leaf_index, tenant_id, type, request_id, data, created_at } = entry;
  return utf8(canonicalize({ leaf_index, tenant_id, type, request_id, data, created_at }));
}

/** The entry's RFC 6962 leaf hash. */
export function* auditLeafHashing(entry: AuditLeafEntry): Hashing<Uint8Array> {
  return yield* leafHash(auditLeafBytes(entry));
}

/** True when a signed tree head has the shape the server signs (its signature is checked apart). */
export function isWellFormedTreeHead(head: SignedTreeHead): boolean {
  const p = head?.payload;
  if (typeof p !== 'object' || p === null || p.purpose !== 'audit-tree-head') return false;
  if (!isIndex(p.tree_size) || !isIndex(p.timestamp) || typeof p.root_hash !== 'string' || !/^[0-9a-f]{64}$/.test(p.root_hash))
    return false;
  return typeof p.tenant_id === 'string' && typeof p.server_id === 'string' && typeof head.signature === 'string';
}

/** True when the tree head is well formed and signed by the server key given (standard base64; pin it, see GET /v1/info). */
export async function verifyTreeHeadWith(crypto: SigilCrypto, head: SignedTreeHead, serverPublicKey: string): Promise<boolean> {
  return isWellFormedTreeHead(head) && verifyPayloadWith(crypto, DomainTag.treeHead, head.payload, head.signature, serverPublicKey);
}

/**
 * Checks that an entry is in the log summarised by a tree head: the entry's recomputed leaf
 * hash (when `entry` is given; else the proof's leaf_hash) at the proof's index, in a tree of the
 * head's size whose root is the head's root. Check the head's signature apart.
 */
export function* auditInclusionHolds(proof: InclusionProofBody, head: TreeHead, entry?: AuditLeafEntry): Hashing<boolean> {
  if (proof?.tree_size !== head?.tree_size) return false;
  let leaf: string = proof.leaf_hash;
  if (entry !== undefined) {
    if (entry.leaf_index !== proof.leaf_index) return false;
    let bytes: Uint8Array;
    try {
      bytes = auditLeafBytes(entry);
    } catch {
      return false;
    }
    leaf = toHex(yield* leafHash(bytes));
    if (typeof proof.leaf_hash === 'string' && proof.leaf_hash.toLowerCase() !== leaf) return false;
  }
  return yield* inclusionHolds(leaf, proof.leaf_index, head.tree_size, proof.audit_path ?? [], head.root_hash);
}

/** Checks that the `newer` head's log extends the `older` head's log without rewriting it. */
export function* auditConsistencyHolds(proof: ConsistencyProofBody, older: TreeHead, newer: TreeHead): Hashing<boolean> {
  if (proof?.from !== older?.tree_size || proof.to !== newer?.tree_size || older.tenant_id !== newer.tenant_id) return false;
  // Every log extends the empty one; RFC 6962 has no proof for it, so an empty proof is expected.
  if (older.tree_size === 0) return (proof.proof ?? []).length === 0;
  return yield* consistencyHolds(older.tree_size, newer.tree_size, older.root_hash, newer.root_hash, proof.proof ?? []);
}
