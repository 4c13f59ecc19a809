/**
 * RFC 6962 (Certificate Transparency) Merkle tree hashing, inclusion proofs and
 * consistency proofs. The hash primitives and the verifiers (RFC 9162 §2.1.3.2 and
 * §2.1.4.2) live in @sigilauth/protocol, so that the server and every SDK share one
 * implementation; they are re-exported here under their historical names.
 * Pure: no I/O. Tree sizes and indices are non-negative safe integers; every hash is 32 bytes.
 */
import {
  MERKLE_HASH_SIZE,
  merkleEmptyRoot,
  merkleLeafHash,
  merkleNodeHash,
  merkleTreeRoot,
  verifyConsistency,
  verifyInclusion,
} from '@sigilauth/protocol';

export { verifyConsistency, verifyInclusion };

/** Byte length of every hash in the tree (SHA-256). */
export const HASH_SIZE = MERKLE_HASH_SIZE;

/** Leaf hash: SHA-256(0x00 || data). */
export const leafHash: (data: Buffer) => Buffer = merkleLeafHash;

/** Interior node hash: SHA-256(0x01 || left || right). */
export const nodeHash: (left: Buffer, right: Buffer) => Buffer = merkleNodeHash;

/** Root of the empty tree: SHA-256(""). */
export const emptyRoot: () => Buffer = merkleEmptyRoot;

/** Merkle Tree Hash (RFC 6962 §2.1) of the given leaf hashes. */
export function rootHash(leafHashes: readonly Buffer[]): Buffer {
  return subtreeHash(leafHashes, 0, leafHashes.length);
}

/**
 * Audit path (RFC 6962 §2.1.1) for leaf `index` in the tree of the first `size`
 * leaves (default: all), ordered from the leaf's sibling up to the root's child.
 * Throws RangeError unless 0 <= index < size <= leafHashes.length.
 */
export function inclusionProof(leafHashes: readonly Buffer[], index: number, size: number = leafHashes.length): Buffer[] {
  checkSize(size, leafHashes.length);
  if (!Number.isSafeInteger(index) || index < 0 || index >= size) {
    throw new RangeError(`leaf index ${index} is outside the tree of size ${size}`);
  }
  // Walk down from the root; each step records the sibling subtree's hash.
  const path: Buffer[] = [];
  let start = 0;
  let end = size;
  while (end - start > 1) {
    const split = start + largestPowerOfTwoBelow(end - start);
    if (index < split) {
      path.push(subtreeHash(leafHashes, split, end));
      end = split;
    } else {
      path.push(subtreeHash(leafHashes, start, split));
      start = split;
    }
  }
  return path.reverse();
}

/**
 * Consistency proof (RFC 6962 §2.1.2) that the tree of the first `from` leaves
 * is a prefix of the tree of the first `to` leaves. Empty when from == to.
 * Throws RangeError unless 0 < from <= to <= leafHashes.length (size 0 has no proof).
 */
export function consistencyProof(leafHashes: readonly Buffer[], from: number, to: number): Buffer[] {
  checkSize(to, leafHashes.length);
  if (!Number.isSafeInteger(from) || from < 1 || from > to) {
    throw new RangeError(`consistency proof needs 0 < from <= to, got from=${from}, to=${to}`);
  }
  // Iterative SUBPROOF(m, D[start:end], b) with m = from - start.
  const proof: Buffer[] = [];
  let start = 0;
  let end = to;
  let wholeOldTree = true; // RFC 6962's flag b
  while (from !== end) {
    const split = start + largestPowerOfTwoBelow(end - start);
    if (from <= split) {
      proof.push(subtreeHash(leafHashes, split, end));
      end = split;
    } else {
      proof.push(subtreeHash(leafHashes, start, split));
      start = split;
      wholeOldTree = false;
    }
  }
  if (!wholeOldTree) proof.push(subtreeHash(leafHashes, start, end));
  return proof.reverse();
}

/** MTH(D[start:end]), with @sigilauth/protocol's one root computation. */
function subtreeHash(leafHashes: readonly Buffer[], start: number, end: number): Buffer {
  return merkleTreeRoot(leafHashes, start, end);
}

/** Largest power of two strictly smaller than n (n >= 2). */
function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function checkSize(size: number, available: number): void {
  if (!isIndex(size) || size > available) {
    throw new RangeError(`tree size ${size} is not within 0..${available}`);
  }
}

function isIndex(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}
