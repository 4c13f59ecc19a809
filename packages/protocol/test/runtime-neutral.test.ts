// The runtime-neutral parts of @sigilauth/protocol hold to the same vectors with both SigilCrypto
// implementations (node:crypto and WebCrypto), and none of them reaches a Node built-in.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromBase64, fromHex, toHex, utf8 } from '../src/bytes.js';
import { nodeCrypto } from '../src/crypto/node.js';
import type { SigilCrypto } from '../src/crypto/types.js';
import { webCrypto } from '../src/crypto/web.js';
import { decisionChallengeWith } from '../src/decision.js';
import { DomainTag, signingInputBytes, verifyPayloadWith } from '../src/domain.js';
import { actionDigest, decisionChallenge, pictogramFor, signPayload, verifyPayload } from '../src/index.js';
import { consistencyHolds, inclusionHolds, leafHash, runHashing, runHashingAsync, treeRoot, type Hashing } from '../src/merkle.js';
import { actionDigestWith } from '../src/mpa.js';
import { KeyFormatError } from '../src/key-format.js';
import { decompressP256, isLowS } from '../src/p256.js';
import { pictogramWith } from '../src/pictogram.js';
import { keyVectors, pictogramVectors, rfc6962Vectors, signatureVectors } from './vectors.js';
import { importCompressedP256, sha256Sync } from '../src/crypto/node.js';
import type { KeyObject } from 'node:crypto';
import type { DecisionPayload } from '../src/wire/index.js';

/** The uncompressed point of a KeyObject, from its JWK. */
function compressedToUncompressed(key: KeyObject): Uint8Array {
  const jwk = key.export({ format: 'jwk' });
  return new Uint8Array([4, ...Buffer.from(jwk.x!, 'base64url'), ...Buffer.from(jwk.y!, 'base64url')]);
}

const implementations: Array<[string, SigilCrypto]> = [
  ['node:crypto', nodeCrypto],
  ['WebCrypto', webCrypto],
];

for (const [name, crypto] of implementations) {
  describe(`runtime-neutral protocol with ${name}`, () => {
    const run = <T>(steps: Hashing<T>) => runHashingAsync(steps, (data) => crypto.sha256(data));

    test('signature vectors: every valid case verifies, every invalid case fails', async () => {
      for (const v of signatureVectors.valid) {
        assert.equal(toHex(signingInputBytes(v.tag, v.payload)), v.signing_input_hex, v.name);
        assert.equal(await verifyPayloadWith(crypto, v.tag, v.payload, v.signature, v.public_key), true, v.name);
      }
      for (const v of signatureVectors.invalid) {
        assert.equal(await verifyPayloadWith(crypto, v.tag, v.payload, v.signature, v.public_key), false, v.name);
      }
    });

    test('key vectors: fingerprints, and decompression to the uncompressed point', async () => {
      for (const k of keyVectors.keys) {
        assert.equal(toHex(await crypto.sha256(fromBase64(k.public_key))), k.fingerprint, k.label);
        assert.equal(toHex(decompressP256(fromBase64(k.public_key))), k.public_key_uncompressed_hex, k.label);
      }
    });

    test('pictogram vectors', async () => {
      for (const v of pictogramVectors.vectors)
        assert.deepEqual(await pictogramWith(crypto, v.server_id), { emoji: v.emoji, names: v.names, text: v.text });
    });

    test('decision challenge and action digest match the Node entry point', async () => {
      const decision = signatureVectors.valid.find((v) => v.tag === DomainTag.mpaDecision && v.action)!;
      assert.equal(await actionDigestWith(crypto, decision.action!), actionDigest(decision.action!));
      assert.equal(await actionDigestWith(crypto, decision.action!), decision.payload.action_digest);
      const payload = decision.payload as unknown as DecisionPayload;
      assert.equal(toHex(await decisionChallengeWith(crypto, payload)), decisionChallenge(payload).toString('hex'));
    });

    test('RFC 6962 vectors: leaf hashes, roots, inclusion and consistency proofs', async () => {
      const leaves = await Promise.all(rfc6962Vectors.leaves.map((l) => run(leafHash(fromHex(l)))));
      assert.deepEqual(leaves.map(toHex), rfc6962Vectors.leafHashes);
      assert.equal(toHex(await run(treeRoot([]))), rfc6962Vectors.emptyRoot);
      for (let i = 0; i < leaves.length; i++) assert.equal(toHex(await run(treeRoot(leaves.slice(0, i + 1)))), rfc6962Vectors.roots[i]);
      for (const c of rfc6962Vectors.inclusion) {
        const root = rfc6962Vectors.roots[c.size - 1]!;
        assert.equal(await run(inclusionHolds(leaves[c.index]!, c.index, c.size, c.proof, root)), true, `inclusion ${c.index}/${c.size}`);
        if (c.proof.length > 0) {
          const bad = [...c.proof];
          bad[0] = bad[0]!.replace(/^./, (ch) => (ch === '0' ? '1' : '0'));
          assert.equal(await run(inclusionHolds(leaves[c.index]!, c.index, c.size, bad, root)), false);
        }
      }
      for (const c of rfc6962Vectors.consistency) {
        const ok = await run(consistencyHolds(c.from, c.to, rfc6962Vectors.roots[c.from - 1]!, rfc6962Vectors.roots[c.to - 1]!, c.proof));
        assert.equal(ok, true, `consistency ${c.from}→${c.to}`);
      }
    });

    test('a key made and a payload signed here verify with the Node entry point, with low S', async () => {
      const { privateKey, publicKey } = await crypto.generateP256();
      const message = signingInputBytes(DomainTag.treeHead, { n: 1 });
      for (let i = 0; i < 8; i++) {
        const signature = await crypto.signP256(privateKey, message);
        assert.equal(signature.length, 64);
        assert.ok(isLowS(signature));
        const b64 = Buffer.from(signature).toString('base64');
        assert.equal(verifyPayload(DomainTag.treeHead, { n: 1 }, b64, Buffer.from(publicKey).toString('base64')), true);
        assert.equal(await crypto.verifyP256(publicKey, utf8('other'), signature), false);
      }
    });
  });
}

test('both implementations agree with the synchronous drivers and with each other on random trees', async () => {
  for (const size of [0, 1, 2, 3, 5, 8, 13, 33]) {
    const leaves = Array.from({ length: size }, (_, i) => sha256Sync(utf8(`leaf ${i}`)));
    const sync = toHex(runHashing(treeRoot(leaves), sha256Sync));
    for (const [, crypto] of implementations)
      assert.equal(toHex(await runHashingAsync(treeRoot(leaves), crypto.sha256)), sync, `size ${size}`);
  }
});

test('a Node signature verifies with WebCrypto, and the other way round', async () => {
  const v = signatureVectors.valid[0]!;
  assert.equal(verifyPayload(v.tag, v.payload, v.signature, v.public_key), true);
  const { privateKey, publicKey } = await nodeCrypto.generateP256();
  const sig = signPayload(DomainTag.pairing, { a: 1 }, privateKey as never);
  assert.equal(await verifyPayloadWith(webCrypto, DomainTag.pairing, { a: 1 }, sig, Buffer.from(publicKey).toString('base64')), true);
  assert.equal(pictogramFor(v.payload.server_id as string).text.length > 0, true);
});

test('decompression agrees with node:crypto on which x are on the curve, and on the point', () => {
  let off = 0;
  for (let x = 1; x <= 40; x++) {
    const point = new Uint8Array(33);
    point[0] = 0x02 | (x & 1);
    point[32] = x;
    let node: Uint8Array | null;
    try {
      node = compressedToUncompressed(importCompressedP256(point));
    } catch {
      node = null;
    }
    if (node === null) {
      off++;
      assert.throws(() => decompressP256(point), /not a point on P-256/, `x = ${x}`);
    } else {
      assert.equal(toHex(decompressP256(point)), toHex(node), `x = ${x}`);
    }
  }
  assert.ok(off > 0 && off < 40, `${off} of 40 x values are off the curve`);
  for (const k of keyVectors.invalid) {
    let bytes: Uint8Array | null = null;
    try {
      bytes = fromBase64(k.public_key);
    } catch {
      continue;
    }
    assert.throws(() => decompressP256(bytes!), KeyFormatError, k.name);
  }
});

/** The modules a subpath export reaches by relative import (type-only imports are erased). */
function reach(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?from\s+'(\.[^']+)'/gms)) {
    reach(resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts')), seen);
  }
  return seen;
}

test('every subpath export but the Node ones reaches no Node built-in and no Buffer', () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, { default: string }> };
  const neutral = Object.entries(pkg.exports).filter(([path]) => path !== '.' && path !== './crypto/node');
  assert.ok(neutral.length >= 10, 'subpath exports');
  for (const [path, { default: built }] of neutral) {
    const entry = join(root, built.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts'));
    for (const file of reach(entry)) {
      const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      assert.doesNotMatch(code, /from\s+'node:|require\(/, `${path} reaches ${file}, which imports a Node built-in`);
      assert.doesNotMatch(code, /(?<![\w.])(Buffer|process)\b/, `${path} reaches ${file}, which uses Buffer or process`);
    }
  }
});
