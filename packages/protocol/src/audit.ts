/**
 * Sigil's tamper-evident audit log for Node: the runtime-neutral rules of merkle.ts and
 * audit-log.ts, run synchronously with node:crypto, with Buffers and KeyObjects. The server
 * builds trees and proofs with the same hashing (packages/server/src/audit/merkle.ts); an
 * integrator verifies offline here. Verifiers never throw: anything malformed is `false`.
 */
import type { KeyObject } from 'node:crypto';
import {
  auditConsistencyHolds,
  auditInclusionHolds,
  auditLeafBytes,
  isWellFormedTreeHead,
  type AuditLeafEntry,
  type ConsistencyProofBody,
  type InclusionProofBody,
} from './audit-log.js';
import { sha256Sync } from './crypto/node.js';
import {
  consistencyHolds,
  emptyRoot,
  inclusionHolds,
  leafHash,
  nodeHash,
  runHashing,
  treeRoot,
  type Hashing,
  type HashInput,
} from './merkle.js';
import { DomainTag, verifyPayload } from './signing.js';
import type { SignedTreeHead, TreeHead } from './wire/audit.js';

export { MERKLE_HASH_SIZE, type HashInput } from './merkle.js';
export type { AuditLeafEntry, ConsistencyProofBody, InclusionProofBody } from './audit-log.js';

const run = <T>(steps: Hashing<T>): T => runHashing(steps, sha256Sync);
const asBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** Leaf hash: SHA-256(0x00 || data). */
export const merkleLeafHash = (data: Uint8Array): Buffer => asBuffer(run(leafHash(data)));

/** Interior node hash: SHA-256(0x01 || left || right). */
export const merkleNodeHash = (left: Uint8Array, right: Uint8Array): Buffer => asBuffer(run(nodeHash(left, right)));

/** Root of the empty tree: SHA-256(""). */
export const merkleEmptyRoot = (): Buffer => asBuffer(run(emptyRoot()));

/** Merkle Tree Hash (RFC 6962 §2.1) of leaf hashes `start` (inclusive) to `end` (exclusive). */
export const merkleTreeRoot = (leafHashes: readonly Uint8Array[], start = 0, end = leafHashes.length): Buffer =>
  asBuffer(run(treeRoot(leafHashes, start, end)));

/**
 * Checks an audit path (RFC 9162 §2.1.3.2): that `leafHash` is leaf number `index` (zero-based)
 * of the tree of `size` leaves whose root is `root`. `proof` is ordered from the leaf's sibling up.
 */
export function verifyInclusion(leafHash: HashInput, index: number, size: number, proof: readonly HashInput[], root: HashInput): boolean {
  return run(inclusionHolds(leafHash, index, size, proof, root));
}

/**
 * Checks a consistency proof (RFC 9162 §2.1.4.2): that the tree of `from` leaves with root
 * `fromRoot` is a prefix of the tree of `to` leaves with root `toRoot`. from == to needs an empty
 * proof and equal roots; from == 0 (the empty tree has no proof) and from > to are false.
 */
export function verifyConsistency(from: number, to: number, fromRoot: HashInput, toRoot: HashInput, proof: readonly HashInput[]): boolean {
  return run(consistencyHolds(from, to, fromRoot, toRoot, proof));
}

/**
 * The leaf data of an entry: the UTF-8 bytes of the RFC 8785 canonical JSON of exactly
 * {created_at, data, leaf_index, request_id, tenant_id, type}. Other fields are ignored.
 */
export const auditLeafData = (entry: AuditLeafEntry): Buffer => asBuffer(auditLeafBytes(entry));

/** The entry's RFC 6962 leaf hash, lower-case hex. */
export function auditLeafHash(entry: AuditLeafEntry): string {
  return merkleLeafHash(auditLeafBytes(entry)).toString('hex');
}

/** True when the tree head is well formed and signed by the server key given (pin it; see GET /v1/info). */
export function verifyTreeHead(head: SignedTreeHead, serverPublicKey: KeyObject | string): boolean {
  return isWellFormedTreeHead(head) && verifyPayload(DomainTag.treeHead, head.payload, head.signature, serverPublicKey);
}

/**
 * Checks that an entry is in the log summarised by a tree head: the entry's recomputed leaf
 * hash (when `entry` is given; else the proof's leaf_hash) at the proof's index, in a tree of the
 * head's size whose root is the head's root. Check the head's signature with verifyTreeHead.
 */
export function verifyAuditInclusion(proof: InclusionProofBody, head: TreeHead, entry?: AuditLeafEntry): boolean {
  try {
    return run(auditInclusionHolds(proof, head, entry));
  } catch {
    return false;
  }
}

/** Checks that the `newer` head's log extends the `older` head's log without rewriting it. */
export function verifyAuditConsistency(proof: ConsistencyProofBody, older: TreeHead, newer: TreeHead): boolean {
  try {
    return run(auditConsistencyHolds(proof, older, newer));
  } catch {
    return false;
  }
}
