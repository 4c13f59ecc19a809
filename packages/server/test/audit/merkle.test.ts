import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import {
  HASH_SIZE,
  consistencyProof,
  emptyRoot,
  inclusionProof,
  leafHash,
  nodeHash,
  rootHash,
  verifyConsistency,
  verifyInclusion,
} from '../../src/audit/merkle.js';
import { rfc6962Vectors } from '../../../protocol/test/vectors.js';

const vectors = rfc6962Vectors;
const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const toHex = (bs: readonly Buffer[]): string[] => bs.map((b) => b.toString('hex'));
const LEAVES = vectors.leaves.map((s) => leafHash(hex(s)));
const rootOf = (size: number): Buffer => hex(vectors.roots[size - 1] ?? assert.fail(`no root for ${size}`));
const SOME_HASH = hex('abacaba000000000000000000000000000000000000000000060061e00123456');

// ---------------------------------------------------------------------------
// Naive reference model: RFC 6962 §2.1 written literally (recursion on slices).
// Each proof node carries the side its sibling sits on, which is all a verifier
// can learn from (index, size): two claims with the same sides accept the same proof.
// ---------------------------------------------------------------------------
type Side = 'L' | 'R';
interface Step {
  hash: Buffer;
  side: Side;
}

function kOf(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function refMth(d: Buffer[]): Buffer {
  if (d.length === 0) return emptyRoot();
  if (d.length === 1) return d[0] as Buffer;
  const k = kOf(d.length);
  return nodeHash(refMth(d.slice(0, k)), refMth(d.slice(k)));
}

function refPath(m: number, d: Buffer[]): Step[] {
  if (d.length <= 1) return [];
  const k = kOf(d.length);
  return m < k
    ? [...refPath(m, d.slice(0, k)), { hash: refMth(d.slice(k)), side: 'R' }]
    : [...refPath(m - k, d.slice(k)), { hash: refMth(d.slice(0, k)), side: 'L' }];
}

/** SUBPROOF(m, D[n], b); `seed` is the node the verifier starts from (null = the old root itself). */
function refSubproof(m: number, d: Buffer[], b: boolean): { seed: Buffer | null; steps: Step[] } {
  if (m === d.length) return { seed: b ? null : refMth(d), steps: [] };
  const k = kOf(d.length);
  if (m <= k) {
    const sub = refSubproof(m, d.slice(0, k), b);
    return { seed: sub.seed, steps: [...sub.steps, { hash: refMth(d.slice(k)), side: 'R' }] };
  }
  const sub = refSubproof(m - k, d.slice(k), false);
  return { seed: sub.seed, steps: [...sub.steps, { hash: refMth(d.slice(0, k)), side: 'L' }] };
}

function refConsistency(m: number, d: Buffer[]): Buffer[] {
  const { seed, steps } = refSubproof(m, d, true);
  return [...(seed ? [seed] : []), ...steps.map((s) => s.hash)];
}

/** What the verifier sees of a claim: sides of each step (plus whether it starts from the old root). */
const inclusionShape = (index: number, size: number): string =>
  refPath(
    index,
    Array.from({ length: size }, () => SOME_HASH),
  )
    .map((s) => s.side)
    .join('');

function consistencyShape(from: number, to: number): string {
  const { seed, steps } = refSubproof(
    from,
    Array.from({ length: to }, () => SOME_HASH),
    true,
  );
  return `${seed ? 'node' : 'old'}:${steps.map((s) => s.side).join('')}`;
}

/** Distinct leaf hashes, so no two subtrees collide by construction. */
function makeLeaves(n: number, salt: number): Buffer[] {
  return Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`leaf ${salt}/${i}`)));
}

function flip(b: Buffer, pos: number, mask: number): Buffer {
  const c = Buffer.from(b);
  c[pos % c.length] = (c[pos % c.length] as number) ^ mask;
  return c;
}

function flipAt(proof: readonly Buffer[], i: number, pos: number, mask: number): Buffer[] {
  return proof.map((p, j) => (j === i ? flip(p, pos, mask) : p));
}

// ---------------------------------------------------------------------------
// RFC 6962 / Certificate Transparency reference vectors
// ---------------------------------------------------------------------------

test('hash primitives: domain-separated SHA-256 and the empty tree', () => {
  assert.equal(emptyRoot().toString('hex'), vectors.emptyRoot);
  assert.equal(rootHash([]).toString('hex'), vectors.emptyRoot);
  assert.deepEqual(toHex(LEAVES), vectors.leafHashes);
  // 0x00 / 0x01 prefixes keep leaves and nodes apart.
  const a = LEAVES[0] as Buffer;
  const b = LEAVES[1] as Buffer;
  const sha256 = (...parts: Buffer[]): Buffer => createHash('sha256').update(Buffer.concat(parts)).digest();
  assert.deepEqual(leafHash(hex('2021')), sha256(Buffer.from([0]), hex('2021')));
  assert.deepEqual(nodeHash(a, b), sha256(Buffer.from([1]), a, b));
  assert.notDeepEqual(nodeHash(a, b), leafHash(Buffer.concat([a, b])));
  assert.deepEqual(rootHash([a, b]), nodeHash(a, b));
  assert.equal(leafHash(Buffer.alloc(0)).length, HASH_SIZE);
});

test('reference roots for tree sizes 1..8', () => {
  for (let size = 1; size <= 8; size++) {
    assert.equal(rootHash(LEAVES.slice(0, size)).toString('hex'), vectors.roots[size - 1], `root of size ${size}`);
  }
  assert.equal(rootHash(LEAVES).toString('hex'), '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328');
  assert.equal(rootHash(LEAVES.slice(0, 1)).toString('hex'), '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
});

test('reference inclusion proofs are generated exactly and verify', () => {
  for (const v of vectors.inclusion) {
    const label = `leaf ${v.index} in size ${v.size}`;
    // Generated both from the exact prefix and from the full 8-leaf list with an explicit size.
    assert.deepEqual(toHex(inclusionProof(LEAVES.slice(0, v.size), v.index)), v.proof, label);
    assert.deepEqual(toHex(inclusionProof(LEAVES, v.index, v.size)), v.proof, label);
    const leaf = LEAVES[v.index] as Buffer;
    assert.equal(verifyInclusion(leaf, v.index, v.size, v.proof.map(hex), rootOf(v.size)), true, label);
  }
});

test('reference inclusion proofs reject the CT reference corruptions', () => {
  for (const v of vectors.inclusion) {
    const leaf = LEAVES[v.index] as Buffer;
    const root = rootOf(v.size);
    const proof = v.proof.map(hex);
    const probes: [string, number, number, Buffer, Buffer[], Buffer][] = [
      ['index - 1', v.index - 1, v.size, leaf, proof, root],
      ['index + 1', v.index + 1, v.size, leaf, proof, root],
      ['index ^ 2', v.index ^ 2, v.size, leaf, proof, root],
      ['size * 2', v.index, v.size * 2, leaf, proof, root],
      ['size / 2', v.index, Math.floor(v.size / 2), leaf, proof, root],
      ['index / 2, size / 2', Math.floor(v.index / 2), Math.floor(v.size / 2), leaf, proof, root],
      ['wrong leaf', v.index, v.size, Buffer.from('WrongLeaf'), proof, root],
      ['other leaf', v.index, v.size, SOME_HASH, proof, root],
      ['empty root', v.index, v.size, leaf, proof, emptyRoot()],
      ['random root', v.index, v.size, leaf, proof, SOME_HASH],
      ['trailing garbage', v.index, v.size, leaf, [...proof, Buffer.alloc(0)], root],
      ['trailing root', v.index, v.size, leaf, [...proof, root], root],
      ['preceding garbage', v.index, v.size, leaf, [Buffer.alloc(0), ...proof], root],
      ['preceding root', v.index, v.size, leaf, [root, ...proof], root],
    ];
    proof.forEach((_, i) => {
      probes.push([`proof[${i}] bit 3`, v.index, v.size, leaf, flipAt(proof, i, 0, 8), root]);
      probes.push([`proof[${i}] = empty root`, v.index, v.size, leaf, proof.map((p, j) => (j === i ? emptyRoot() : p)), root]);
    });
    if (proof.length > 0) probes.push(['removed component', v.index, v.size, leaf, proof.slice(0, -1), root]);
    if (proof.length > 1) {
      probes.push(['inserted component', v.index, v.size, leaf, [proof[0] as Buffer, SOME_HASH, ...proof.slice(1)], root]);
    }
    for (const [desc, index, size, l, p, r] of probes) {
      assert.equal(verifyInclusion(l, index, size, p, r), false, `leaf ${v.index} in size ${v.size}: ${desc}`);
    }
  }
});

test('reference consistency proofs are generated exactly and verify', () => {
  for (const v of vectors.consistency) {
    const label = `${v.from} -> ${v.to}`;
    assert.deepEqual(toHex(consistencyProof(LEAVES.slice(0, v.to), v.from, v.to)), v.proof, label);
    assert.deepEqual(toHex(consistencyProof(LEAVES, v.from, v.to)), v.proof, label);
    assert.equal(verifyConsistency(v.from, v.to, rootOf(v.from), rootOf(v.to), v.proof.map(hex)), true, label);
  }
});

test('reference consistency proofs reject the CT reference corruptions', () => {
  for (const v of vectors.consistency) {
    if (v.proof.length === 0) continue; // from == to: covered by the edge-case test below
    const r1 = rootOf(v.from);
    const r2 = rootOf(v.to);
    const proof = v.proof.map(hex);
    const wrong = Buffer.from('WrongRoot');
    const probes: [string, number, number, Buffer, Buffer, Buffer[]][] = [
      ['from - 1', v.from - 1, v.to, r1, r2, proof],
      ['from + 1', v.from + 1, v.to, r1, r2, proof],
      ['from ^ 2', v.from ^ 2, v.to, r1, r2, proof],
      ['to * 2', v.from, v.to * 2, r1, r2, proof],
      ['to / 2', v.from, Math.floor(v.to / 2), r1, r2, proof],
      ['wrong fromRoot', v.from, v.to, wrong, r2, proof],
      ['wrong toRoot', v.from, v.to, r1, wrong, proof],
      ['fromRoot = empty root', v.from, v.to, emptyRoot(), r2, proof],
      ['toRoot = empty root', v.from, v.to, r1, emptyRoot(), proof],
      ['swapped roots', v.from, v.to, r2, r1, proof],
      ['empty proof', v.from, v.to, r1, r2, []],
      ['trailing garbage', v.from, v.to, r1, r2, [...proof, Buffer.alloc(0)]],
      ['trailing fromRoot', v.from, v.to, r1, r2, [...proof, r1]],
      ['trailing toRoot', v.from, v.to, r1, r2, [...proof, r2]],
      ['last node duplicated', v.from, v.to, r1, r2, [...proof, proof[proof.length - 1] as Buffer]],
      ['preceding garbage', v.from, v.to, r1, r2, [Buffer.alloc(0), ...proof]],
      ['preceding fromRoot', v.from, v.to, r1, r2, [r1, ...proof]],
      ['preceding toRoot', v.from, v.to, r1, r2, [r2, ...proof]],
      ['preceding proof[0]', v.from, v.to, r1, r2, [proof[0] as Buffer, ...proof]],
      ['truncated proof', v.from, v.to, r1, r2, proof.slice(0, -1)],
    ];
    proof.forEach((_, i) => {
      probes.push([`proof[${i}] bit 4`, v.from, v.to, r1, r2, flipAt(proof, i, 0, 16)]);
      probes.push([`proof[${i}] = empty root`, v.from, v.to, r1, r2, proof.map((p, j) => (j === i ? emptyRoot() : p))]);
    });
    for (const [desc, from, to, a, b, p] of probes) {
      assert.equal(verifyConsistency(from, to, a, b, p), false, `${v.from} -> ${v.to}: ${desc}`);
    }
  }
});

// ---------------------------------------------------------------------------
// Edge cases
// ---------------------------------------------------------------------------

test('consistency edge cases: from == to, from == 0, from > to', () => {
  const r3 = rootOf(3);
  const r5 = rootOf(5);
  // from == to: the proof is empty and the roots must match.
  for (let n = 1; n <= 8; n++) assert.deepEqual(consistencyProof(LEAVES, n, n), []);
  assert.equal(verifyConsistency(5, 5, r5, r5, []), true);
  assert.equal(verifyConsistency(5, 5, r5, r3, []), false);
  assert.equal(verifyConsistency(5, 5, r5, r5, [r5]), false);
  assert.equal(verifyConsistency(5, 5, r5, r5, [emptyRoot()]), false);
  // from == 0: the empty tree has no consistency proof; verifiers reject it.
  assert.throws(() => consistencyProof(LEAVES, 0, 5), RangeError);
  assert.throws(() => consistencyProof(LEAVES, 0, 0), RangeError);
  assert.equal(verifyConsistency(0, 5, emptyRoot(), r5, []), false);
  assert.equal(verifyConsistency(0, 5, emptyRoot(), r5, [r5]), false);
  assert.equal(verifyConsistency(0, 0, emptyRoot(), emptyRoot(), []), false);
  // from > to: time travel is never consistent.
  assert.throws(() => consistencyProof(LEAVES, 6, 5), RangeError);
  assert.equal(verifyConsistency(6, 5, rootOf(6), r5, []), false);
  assert.equal(verifyConsistency(2, 1, rootOf(2), rootOf(1), [LEAVES[1] as Buffer]), false);
  // from < to with an empty proof.
  assert.equal(verifyConsistency(1, 2, rootOf(1), rootOf(2), []), false);
  // Sizes beyond the supplied leaves, and non-integers.
  assert.throws(() => consistencyProof(LEAVES, 2, 9), RangeError);
  assert.throws(() => consistencyProof(LEAVES, 1.5, 4), RangeError);
  assert.equal(verifyConsistency(2.5, 5, rootOf(2), r5, consistencyProof(LEAVES, 2, 5)), false);
  assert.equal(verifyConsistency(-1, 5, rootOf(2), r5, consistencyProof(LEAVES, 2, 5)), false);
});

test('inclusion edge cases', () => {
  const leaf = LEAVES[0] as Buffer;
  const root1 = rootOf(1);
  // Single-entry tree: the leaf hash is the root and the proof is empty.
  assert.deepEqual(inclusionProof(LEAVES, 0, 1), []);
  assert.equal(verifyInclusion(leaf, 0, 1, [], root1), true);
  assert.equal(verifyInclusion(leaf, 0, 1, [], Buffer.alloc(0)), false);
  assert.equal(verifyInclusion(Buffer.alloc(0), 0, 1, [], root1), false);
  for (const [index, size] of [
    [0, 0],
    [1, 0],
    [1, 1],
    [2, 1],
    [-1, 1],
    [0.5, 1],
    [0, 1.5],
  ] as const) {
    assert.equal(verifyInclusion(SOME_HASH, index, size, [], emptyRoot()), false, `${index}/${size}`);
    assert.equal(verifyInclusion(leaf, index, size, [], root1), false, `${index}/${size}`);
  }
  assert.throws(() => inclusionProof(LEAVES, 0, 0), RangeError);
  assert.throws(() => inclusionProof(LEAVES, 8), RangeError);
  assert.throws(() => inclusionProof(LEAVES, 3, 3), RangeError);
  assert.throws(() => inclusionProof(LEAVES, -1), RangeError);
  assert.throws(() => inclusionProof(LEAVES, 0, 9), RangeError);
  assert.throws(() => inclusionProof([], 0), RangeError);
});

test('1,000,000 leaves: root, inclusion and consistency without recursion', { timeout: 120_000 }, () => {
  const n = 1_000_000;
  // Distinct 32-byte leaf hashes, cheap to make (any 32-byte value is a valid leaf hash).
  const backing = Buffer.alloc(n * HASH_SIZE);
  const leaves = Array.from({ length: n }, (_, i) => {
    backing.writeUInt32BE(i, i * HASH_SIZE);
    return backing.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE);
  });
  const root = rootHash(leaves);

  const index = 765_432;
  const path = inclusionProof(leaves, index);
  assert.equal(path.length, 20);
  assert.equal(verifyInclusion(leaves[index] as Buffer, index, n, path, root), true);
  assert.equal(verifyInclusion(leaves[index] as Buffer, index + 1, n, path, root), false);

  const from = 1000;
  const proof = consistencyProof(leaves, from, n);
  assert.equal(verifyConsistency(from, n, rootHash(leaves.slice(0, from)), root, proof), true);
  assert.equal(verifyConsistency(from, n, rootHash(leaves.slice(0, from)), flip(root, 7, 1), proof), false);
});

test('known RFC 9162 ambiguity: the verifier cannot tell apart sizes that give the same path shape', () => {
  // Leaf 0's audit path in the 8-leaf tree is [b, h, l]; in sizes 5..7 leaf 0's path also has
  // three right-hand siblings, so the same proof and root are accepted for those claimed sizes.
  // Only the root (signed in a tree head) binds the tree; sizes 4 and 9+ give other shapes.
  const v = vectors.inclusion.find((x) => x.index === 0 && x.size === 8) ?? assert.fail('vector');
  const proof = v.proof.map(hex);
  const accepted: number[] = [];
  for (let size = 1; size <= 16; size++) {
    if (verifyInclusion(LEAVES[0] as Buffer, 0, size, proof, rootOf(8))) accepted.push(size);
  }
  assert.deepEqual(accepted, [5, 6, 7, 8]);
  // Likewise the 1 -> 8 consistency proof is accepted as 1 -> 5..7 with the same roots.
  const c = vectors.consistency.find((x) => x.from === 1 && x.to === 8) ?? assert.fail('vector');
  const cAccepted: number[] = [];
  for (let to = 1; to <= 16; to++) {
    if (verifyConsistency(1, to, rootOf(1), rootOf(8), c.proof.map(hex))) cAccepted.push(to);
  }
  assert.deepEqual(cAccepted, [5, 6, 7, 8]);
});

// ---------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------

const MAX = 300;
const sizeAndIndex = fc
  .integer({ min: 1, max: MAX })
  .chain((size) => fc.record({ size: fc.constant(size), index: fc.integer({ min: 0, max: size - 1 }) }));
const fromTo = fc.integer({ min: 1, max: MAX }).chain((to) => fc.record({ to: fc.constant(to), from: fc.integer({ min: 1, max: to }) }));
const salt = fc.integer({ min: 0, max: 1_000_000 });
const bytePos = fc.integer({ min: 0, max: HASH_SIZE - 1 });
const mask = fc.integer({ min: 1, max: 255 });

test('property: rootHash and proofs match the literal RFC 6962 recursion', () => {
  fc.assert(
    fc.property(fromTo, salt, fc.nat(), ({ from, to }, s, r) => {
      const leaves = makeLeaves(to, s);
      const index = r % to;
      assert.deepEqual(rootHash(leaves), refMth(leaves));
      assert.deepEqual(
        inclusionProof(leaves, index),
        refPath(index, leaves).map((x) => x.hash),
      );
      assert.deepEqual(consistencyProof(leaves, from, to), from === to ? [] : refConsistency(from, leaves));
    }),
    { numRuns: 150 },
  );
});

test('property: every inclusion proof verifies, for any prefix size', () => {
  fc.assert(
    fc.property(sizeAndIndex, fc.integer({ min: 0, max: 40 }), salt, ({ size, index }, extra, s) => {
      const leaves = makeLeaves(size + extra, s); // the tree of the first `size` leaves of a longer list
      const root = rootHash(leaves.slice(0, size));
      const proof = inclusionProof(leaves, index, size);
      assert.equal(verifyInclusion(leaves[index] as Buffer, index, size, proof, root), true);
    }),
    { numRuns: 300 },
  );
});

test('property: flipping any byte of the proof, the leaf or the root breaks inclusion', () => {
  fc.assert(
    fc.property(sizeAndIndex, salt, bytePos, mask, ({ size, index }, s, pos, m) => {
      const leaves = makeLeaves(size, s);
      const leaf = leaves[index] as Buffer;
      const root = rootHash(leaves);
      const proof = inclusionProof(leaves, index);
      for (let i = 0; i < proof.length; i++) {
        assert.equal(verifyInclusion(leaf, index, size, flipAt(proof, i, pos, m), root), false, `proof[${i}]`);
      }
      assert.equal(verifyInclusion(flip(leaf, pos, m), index, size, proof, root), false, 'leaf');
      assert.equal(verifyInclusion(leaf, index, size, proof, flip(root, pos, m)), false, 'root');
      assert.equal(verifyInclusion(leaf, index, size, [...proof, SOME_HASH], root), false, 'appended');
      if (proof.length > 0) assert.equal(verifyInclusion(leaf, index, size, proof.slice(1), root), false, 'dropped');
    }),
    { numRuns: 300 },
  );
});

test('property: changing the index breaks inclusion; changing the size does unless the audit path has the same shape', () => {
  fc.assert(
    fc.property(
      sizeAndIndex,
      salt,
      fc.integer({ min: 0, max: MAX + 100 }),
      fc.integer({ min: 0, max: MAX + 100 }),
      ({ size, index }, s, otherIndex, otherSize) => {
        const leaves = makeLeaves(size, s);
        const leaf = leaves[index] as Buffer;
        const root = rootHash(leaves);
        const proof = inclusionProof(leaves, index);
        // Any other index, same size: always rejected.
        const i2 = otherIndex % size;
        if (i2 !== index) assert.equal(verifyInclusion(leaf, i2, size, proof, root), false, `index ${i2}`);
        // Any other (index, size) claim: accepted exactly when RFC 6962 gives it the same
        // left/right path as the real one (e.g. leaf 0 in sizes 5..8), since the verifier
        // sees nothing but the proof hashes and the root. Such claims are false positives of
        // the (index, size) pair only; the root still pins the tree the leaf is in.
        if (otherIndex !== index || otherSize !== size) {
          const expected = otherIndex < otherSize && inclusionShape(otherIndex, otherSize) === inclusionShape(index, size);
          assert.equal(verifyInclusion(leaf, otherIndex, otherSize, proof, root), expected, `${otherIndex}/${otherSize}`);
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('property: every consistency proof verifies', () => {
  fc.assert(
    fc.property(fromTo, fc.integer({ min: 0, max: 40 }), salt, ({ from, to }, extra, s) => {
      const leaves = makeLeaves(to + extra, s);
      const proof = consistencyProof(leaves, from, to);
      const ok = verifyConsistency(from, to, rootHash(leaves.slice(0, from)), rootHash(leaves.slice(0, to)), proof);
      assert.equal(ok, true);
    }),
    { numRuns: 300 },
  );
});

test('property: flipping any byte of the proof or either root breaks consistency', () => {
  fc.assert(
    fc.property(fromTo, salt, bytePos, mask, ({ from, to }, s, pos, m) => {
      const leaves = makeLeaves(to, s);
      const r1 = rootHash(leaves.slice(0, from));
      const r2 = rootHash(leaves);
      const proof = consistencyProof(leaves, from, to);
      for (let i = 0; i < proof.length; i++) {
        assert.equal(verifyConsistency(from, to, r1, r2, flipAt(proof, i, pos, m)), false, `proof[${i}]`);
      }
      assert.equal(verifyConsistency(from, to, flip(r1, pos, m), r2, proof), false, 'fromRoot');
      assert.equal(verifyConsistency(from, to, r1, flip(r2, pos, m), proof), false, 'toRoot');
      assert.equal(verifyConsistency(from, to, r1, r2, [...proof, SOME_HASH]), false, 'appended');
      if (proof.length > 0) assert.equal(verifyConsistency(from, to, r1, r2, proof.slice(1)), false, 'dropped');
    }),
    { numRuns: 300 },
  );
});

test('property: changing from/to breaks consistency unless the proof has the same shape', () => {
  fc.assert(
    fc.property(
      fromTo,
      salt,
      fc.integer({ min: 0, max: MAX + 100 }),
      fc.integer({ min: 0, max: MAX + 100 }),
      ({ from, to }, s, otherFrom, otherTo) => {
        const leaves = makeLeaves(to, s);
        const r1 = rootHash(leaves.slice(0, from));
        const r2 = rootHash(leaves);
        const proof = consistencyProof(leaves, from, to);
        // A claim (f, t) is accepted exactly when RFC 6962 gives it the same proof shape;
        // when from == to (empty proof, equal roots) that is any other f == t >= 1.
        const accepts = (f: number, t: number): boolean =>
          f >= 1 && (from === to ? f === t : f < t && consistencyShape(f, t) === consistencyShape(from, to));
        // Neighbouring size pairs, from = 0, and a random pair.
        const claims = [
          [from - 1, to],
          [from + 1, to],
          [from, to + 1],
          [from, to - 1],
          [0, to],
          [otherFrom, otherTo],
        ] as const;
        for (const [f, t] of claims) {
          if (f === from && t === to) continue;
          assert.equal(verifyConsistency(f, t, r1, r2, proof), accepts(f, t), `${f} -> ${t}`);
        }
      },
    ),
    { numRuns: 300 },
  );
});
