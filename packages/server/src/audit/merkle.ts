/**
 * RFC 6962 (Certificate Transparency) Merkle tree hashing, inclusion proofs and
 * consistency proofs, with the verifiers of RFC 9162 §2.1.3.2 and §2.1.4.2.
 * Pure: no I/O, SHA-256 from node:crypto only. Tree sizes and indices are
 * non-negative safe integers; every hash is 32 bytes.
 */
import { createHash } from 'node:crypto';

/** Byte length of every hash in the tree (SHA-256). */
export const HASH_SIZE = 32;

const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

/** Leaf hash: SHA-256(0x00 || data). */
export function leafHash(data: Buffer): Buffer {
  return createHash('sha256').update(LEAF_PREFIX).update(data).digest();
}

/** Interior node hash: SHA-256(0x01 || left || right). */
export function nodeHash(left: Buffer, right: Buffer): Buffer {
  return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}

/** Root of the empty tree: SHA-256(""). */
export function emptyRoot(): Buffer {
  return createHash('sha256').digest();
}

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

/** Checks an audit path with the algorithm of RFC 9162 §2.1.3.2. Never throws. */
export function verifyInclusion(
  leaf: Buffer,
  index: number,
  size: number,
  proof: readonly Buffer[],
  root: Buffer,
): boolean {
  if (!isIndex(index) || !isIndex(size) || index >= size) return false;
  if (!isHash(leaf) || !isHash(root) || !proof.every(isHash)) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      r = nodeHash(p, r);
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && r.equals(root);
}

/**
 * Checks a consistency proof with the algorithm of RFC 9162 §2.1.4.2.
 * from == to needs an empty proof and equal roots; from == 0 (no proof exists
 * for the empty tree) and from > to return false. Never throws.
 */
export function verifyConsistency(
  from: number,
  to: number,
  fromRoot: Buffer,
  toRoot: Buffer,
  proof: readonly Buffer[],
): boolean {
  if (!isIndex(from) || !isIndex(to) || from === 0 || from > to) return false;
  if (!isHash(fromRoot) || !isHash(toRoot) || !proof.every(isHash)) return false;
  if (from === to) return proof.length === 0 && fromRoot.equals(toRoot);
  if (proof.length === 0) return false;

  const path = isPowerOfTwo(from) ? [fromRoot, ...proof] : [...proof];
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
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && fr.equals(fromRoot) && sr.equals(toRoot);
}

/**
 * MTH(D[start:end]) without recursion or copying: a stack of perfect-subtree
 * hashes (at most ~log2 n deep) is merged as leaves arrive, then folded right to left.
 */
function subtreeHash(leafHashes: readonly Buffer[], start: number, end: number): Buffer {
  if (end <= start) return emptyRoot();
  const hashes: Buffer[] = [];
  const sizes: number[] = [];
  for (let i = start; i < end; i++) {
    let h = leafHashes[i] as Buffer;
    let size = 1;
    while (sizes.length > 0 && sizes[sizes.length - 1] === size) {
      h = nodeHash(hashes.pop() as Buffer, h);
      sizes.pop();
      size *= 2;
    }
    hashes.push(h);
    sizes.push(size);
  }
  let root = hashes.pop() as Buffer;
  while (hashes.length > 0) root = nodeHash(hashes.pop() as Buffer, root);
  return root;
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

function isHash(b: Buffer): boolean {
  return Buffer.isBuffer(b) && b.length === HASH_SIZE;
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
