/**
 * RFC 6962 (Certificate Transparency) Merkle hashing and the proof verifiers of RFC 9162
 * §2.1.3.2 and §2.1.4.2, written once for every runtime. Each computation is a generator that
 * yields the bytes it needs hashed and receives their SHA-256: runHashing drives it with a
 * synchronous hash (node:crypto), runHashingAsync with an asynchronous one (WebCrypto).
 *
 * Hashes may be given as bytes or as 64 lower- or upper-case hex characters, the form the HTTP
 * API uses. Verifiers never throw: anything malformed is `false`.
 */
import { bytesEqual, concatBytes, fromHex } from './bytes.js';

/** Byte length of every hash in the tree (SHA-256). */
export const MERKLE_HASH_SIZE = 32;

/** A hash as bytes, or as 64 hex characters. */
export type HashInput = Uint8Array | string;

/** A computation over SHA-256: yields bytes to hash, is resumed with their digest, returns T. */
export type Hashing<T> = Generator<Uint8Array, T, Uint8Array>;

export function runHashing<T>(steps: Hashing<T>, sha256: (data: Uint8Array) => Uint8Array): T {
  let next = steps.next();
  while (!next.done) next = steps.next(sha256(next.value));
  return next.value;
}

export async function runHashingAsync<T>(steps: Hashing<T>, sha256: (data: Uint8Array) => Promise<Uint8Array>): Promise<T> {
  let next = steps.next();
  while (!next.done) next = steps.next(await sha256(next.value));
  return next.value;
}

const LEAF_PREFIX = new Uint8Array([0x00]);
const NODE_PREFIX = new Uint8Array([0x01]);
const HEX_HASH = /^[0-9a-fA-F]{64}$/;

/** Leaf hash: SHA-256(0x00 || data). */
export function* leafHash(data: Uint8Array): Hashing<Uint8Array> {
  return yield concatBytes(LEAF_PREFIX, data);
}

/** Interior node hash: SHA-256(0x01 || left || right). */
export function* nodeHash(left: Uint8Array, right: Uint8Array): Hashing<Uint8Array> {
  return yield concatBytes(NODE_PREFIX, left, right);
}

/** Root of the empty tree: SHA-256(""). */
export function* emptyRoot(): Hashing<Uint8Array> {
  return yield new Uint8Array(0);
}

/**
 * Merkle Tree Hash (RFC 6962 §2.1) of leaf hashes, without recursion or copying: a stack of
 * perfect-subtree hashes (at most ~log2 n deep) is merged as leaves arrive, then folded right to left.
 */
export function* treeRoot(leafHashes: readonly Uint8Array[], start = 0, end = leafHashes.length): Hashing<Uint8Array> {
  if (end <= start) return yield* emptyRoot();
  const hashes: Uint8Array[] = [];
  const sizes: number[] = [];
  for (let i = start; i < end; i++) {
    let h = leafHashes[i]!;
    let size = 1;
    while (sizes.length > 0 && sizes[sizes.length - 1] === size) {
      h = yield* nodeHash(hashes.pop()!, h);
      sizes.pop();
      size *= 2;
    }
    hashes.push(h);
    sizes.push(size);
  }
  let root = hashes.pop()!;
  while (hashes.length > 0) root = yield* nodeHash(hashes.pop()!, root);
  return root;
}

/**
 * Checks an audit path (RFC 9162 §2.1.3.2): that `leaf` is leaf number `index` (zero-based)
 * of the tree of `size` leaves whose root is `root`. `proof` is ordered from the leaf's sibling up.
 */
export function* inclusionHolds(
  leaf: HashInput,
  index: number,
  size: number,
  proof: readonly HashInput[],
  root: HashInput,
): Hashing<boolean> {
  if (!isIndex(index) || !isIndex(size) || index >= size) return false;
  const start = toHash(leaf);
  const expected = toHash(root);
  const path = toHashes(proof);
  if (start === null || expected === null || path === null) return false;
  let fn = index;
  let sn = size - 1;
  let r = start;
  for (const p of path) {
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      r = yield* nodeHash(p, r);
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = yield* nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && bytesEqual(r, expected);
}

/**
 * Checks a consistency proof (RFC 9162 §2.1.4.2): that the tree of `from` leaves with root
 * `fromRoot` is a prefix of the tree of `to` leaves with root `toRoot`. from == to needs an empty
 * proof and equal roots; from == 0 (the empty tree has no proof) and from > to are false.
 */
export function* consistencyHolds(
  from: number,
  to: number,
  fromRoot: HashInput,
  toRoot: HashInput,
  proof: readonly HashInput[],
): Hashing<boolean> {
  if (!isIndex(from) || !isIndex(to) || from === 0 || from > to) return false;
  const first = toHash(fromRoot);
  const second = toHash(toRoot);
  const nodes = toHashes(proof);
  if (first === null || second === null || nodes === null) return false;
  if (from === to) return nodes.length === 0 && bytesEqual(first, second);
  if (nodes.length === 0) return false;

  const path = isPowerOfTwo(from) ? [first, ...nodes] : nodes;
  let fn = from - 1;
  let sn = to - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0]!;
  let sr = fr;
  for (let i = 1; i < path.length; i++) {
    const c = path[i]!;
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      fr = yield* nodeHash(c, fr);
      sr = yield* nodeHash(c, sr);
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = yield* nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && bytesEqual(fr, first) && bytesEqual(sr, second);
}

function toHash(value: HashInput): Uint8Array | null {
  if (typeof value === 'string') return HEX_HASH.test(value) ? fromHex(value) : null;
  return value instanceof Uint8Array && value.length === MERKLE_HASH_SIZE ? value : null;
}

function toHashes(values: readonly HashInput[]): Uint8Array[] | null {
  if (!Array.isArray(values)) return null;
  const out: Uint8Array[] = [];
  for (const v of values) {
    const h = toHash(v);
    if (h === null) return null;
    out.push(h);
  }
  return out;
}

export function isIndex(n: unknown): n is number {
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
