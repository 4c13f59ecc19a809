import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, verify } from 'node:crypto';
import fc from 'fast-check';
import {
  actionDigest,
  canonicalize,
  decodePublicKey,
  DomainTag,
  fingerprintOf,
  isLowS,
  signingInput,
  signPayload,
  toLowS,
  verifyPayload,
} from '../src/index.js';
import { keyVector, keyVectors, signatureVectors } from './vectors.js';

const TAGS = Object.values(DomainTag);

function tamper(value: unknown): unknown {
  if (typeof value === 'number') return value + 1;
  if (typeof value === 'string') return `${value}x`;
  return 'tampered';
}

describe('signature vectors', () => {
  test('one valid vector per domain tag', () => {
    assert.deepEqual(signatureVectors.valid.map((v) => v.tag).sort(), [...TAGS].sort());
    assert.equal(new Set(TAGS).size, 5);
  });

  for (const v of signatureVectors.valid) {
    describe(v.name, () => {
      test('signing input is ASCII tag, NUL, then UTF-8 JCS payload', () => {
        assert.equal(v.tag, DomainTag[v.tag_name]);
        assert.equal(canonicalize(v.payload), v.canonical_payload);
        const expected = Buffer.from(v.tag, 'ascii').toString('hex') + '00' + Buffer.from(v.canonical_payload, 'utf8').toString('hex');
        assert.equal(v.signing_input_hex, expected);
        assert.equal(signingInput(v.tag, v.payload).toString('hex'), expected);
      });

      test('stored signature verifies', () => {
        assert.equal(v.public_key, keyVector(v.signer).public_key);
        assert.equal(Buffer.from(v.signature, 'base64').length, 64);
        assert.equal(verifyPayload(v.tag, v.payload, v.signature, v.public_key), true);
        assert.equal(verifyPayload(v.tag, v.payload, v.signature, decodePublicKey(v.public_key)), true);
        const raw = verify(
          'sha256',
          Buffer.from(v.signing_input_hex, 'hex'),
          { key: decodePublicKey(v.public_key), dsaEncoding: 'ieee-p1363' },
          Buffer.from(v.signature, 'base64'),
        );
        assert.equal(raw, true);
      });

      test('fresh signature from the vector key verifies', () => {
        const privateKey = createPrivateKey(keyVector(v.signer).private_key_pkcs8_pem);
        const signature = signPayload(v.tag, v.payload, privateKey);
        assert.match(signature, /^[A-Za-z0-9+/]{86}==$/);
        assert.equal(verifyPayload(v.tag, v.payload, signature, v.public_key), true);
      });

      test('never verifies under another tag', () => {
        for (const tag of TAGS.filter((t) => t !== v.tag)) {
          assert.equal(verifyPayload(tag, v.payload, v.signature, v.public_key), false, tag);
        }
      });

      test('changing, removing or adding any field fails', () => {
        for (const key of Object.keys(v.payload)) {
          const changed = { ...v.payload, [key]: tamper(v.payload[key]) };
          assert.equal(verifyPayload(v.tag, changed, v.signature, v.public_key), false, `changed ${key}`);
          const { [key]: _removed, ...rest } = v.payload;
          assert.equal(verifyPayload(v.tag, rest, v.signature, v.public_key), false, `removed ${key}`);
        }
        assert.equal(verifyPayload(v.tag, { ...v.payload, extra: null }, v.signature, v.public_key), false);
        assert.equal(verifyPayload(v.tag, [v.payload], v.signature, v.public_key), false);
      });

      test('reordering payload members still verifies', () => {
        const reversed = Object.fromEntries(Object.entries(v.payload).reverse());
        assert.equal(verifyPayload(v.tag, reversed, v.signature, v.public_key), true);
      });
    });
  }

  test('device payloads carry the signer fingerprint; the decision commits to the action digest', () => {
    for (const v of signatureVectors.valid.filter((x) => x.tag !== DomainTag.serverMessage && x.tag !== DomainTag.treeHead)) {
      assert.equal(v.payload.fingerprint, fingerprintOf(v.public_key));
    }
    const decision = signatureVectors.valid.find((x) => x.tag === DomainTag.mpaDecision)!;
    assert.ok(decision.action);
    const digest = createHash('sha256').update(canonicalize(decision.action), 'utf8').digest('hex');
    assert.equal(actionDigest(decision.action), digest);
    assert.equal(decision.payload.action_digest, digest);
  });

  test('the vectors follow docs/protocol.md: server_id is the server key fingerprint, codes are 8 digits, S is low', () => {
    const serverId = keyVector('server').fingerprint;
    for (const v of [...signatureVectors.valid, ...signatureVectors.invalid]) {
      if ('server_id' in v.payload) assert.equal(v.payload.server_id, serverId, v.name);
      if ('code' in v.payload) assert.match(String(v.payload.code), /^\d{8}$/, v.name);
    }
    for (const v of signatureVectors.valid) assert.equal(isLowS(Buffer.from(v.signature, 'base64')), true, v.name);
  });

  for (const c of signatureVectors.invalid) {
    test(`rejects ${c.name}`, () => {
      assert.equal(verifyPayload(c.tag, c.payload, c.signature, c.public_key), false);
    });
  }
});

describe('signPayload / verifyPayload', () => {
  const alice = keyVector('alice');
  const bob = keyVector('bob');
  const alicePrivate = createPrivateKey(alice.private_key_pkcs8_pem);
  const payload = fc.dictionary(fc.string({ unit: 'grapheme', maxLength: 8 }), fc.jsonValue({ stringUnit: 'grapheme', maxDepth: 2 }));

  test('a signature made under one tag verifies only under that tag', () => {
    fc.assert(
      fc.property(payload, fc.constantFrom(...TAGS), (body, tag) => {
        const signature = signPayload(tag, body, alicePrivate);
        for (const other of TAGS) assert.equal(verifyPayload(other, body, signature, alice.public_key), other === tag);
        assert.equal(verifyPayload(tag, body, signature, bob.public_key), false);
      }),
      { numRuns: 100 },
    );
  });

  test('returns false instead of throwing on malformed keys, signatures and payloads', () => {
    const signature = signPayload(DomainTag.pairing, { a: 1 }, alicePrivate);
    for (const bad of keyVectors.invalid) {
      assert.equal(verifyPayload(DomainTag.pairing, { a: 1 }, signature, bad.public_key), false, bad.name);
    }
    for (const sig of ['', 'not base64', signature.slice(0, -4), `${signature}AAAA`]) {
      assert.equal(verifyPayload(DomainTag.pairing, { a: 1 }, sig, alice.public_key), false, sig);
    }
    assert.equal(verifyPayload(DomainTag.pairing, { a: NaN }, signature, alice.public_key), false);
    assert.equal(verifyPayload(DomainTag.pairing, { a: '\ud800' }, signature, alice.public_key), false);
  });

  test('signatures are made with low S, and the high-S twin of a valid signature is refused', () => {
    const n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
    let highSeen = false;
    fc.assert(
      fc.property(payload, fc.constantFrom(...TAGS), (body, tag) => {
        const signature = Buffer.from(signPayload(tag, body, alicePrivate), 'base64');
        assert.equal(isLowS(signature), true);
        const s = BigInt(`0x${signature.subarray(32).toString('hex')}`);
        const twin = Buffer.concat([signature.subarray(0, 32), Buffer.from((n - s).toString(16).padStart(64, '0'), 'hex')]);
        // ECDSA itself accepts the twin; Sigil does not.
        assert.equal(
          verify('sha256', signingInput(tag, body), { key: decodePublicKey(alice.public_key), dsaEncoding: 'ieee-p1363' }, twin),
          true,
        );
        assert.equal(verifyPayload(tag, body, twin.toString('base64'), alice.public_key), false);
        assert.deepEqual(toLowS(twin), signature);
        highSeen ||= !isLowS(twin);
      }),
      { numRuns: 100 },
    );
    assert.ok(highSeen);
  });

  test('signing a payload JCS cannot represent throws', () => {
    assert.throws(() => signPayload(DomainTag.pairing, { a: Infinity }, alicePrivate), { message: 'JCS: non-finite number' });
  });
});
