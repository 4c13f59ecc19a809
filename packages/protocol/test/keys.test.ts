import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createECDH, createHash, createPrivateKey, createPublicKey, createSecretKey, generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import {
  decodeBase64,
  decodePublicKey,
  DomainTag,
  encodePublicKey,
  fingerprintOf,
  generateP256KeyPair,
  isFingerprint,
  KeyFormatError,
  signPayload,
  verifyPayload,
} from '../src/index.js';
import { keyVectors } from './vectors.js';

const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;

function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let result = 1n;
  for (base %= mod; exp > 0n; exp >>= 1n, base = (base * base) % mod) if (exp & 1n) result = (result * base) % mod;
  return result;
}

function hasCurvePoint(x: bigint): boolean {
  if (x >= P) return false;
  const rhs = (((x ** 3n - 3n * x + B) % P) + P) % P;
  return rhs === 0n || modPow(rhs, (P - 1n) / 2n, P) === 1n;
}

function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function keyFromScalar(d: bigint) {
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(Buffer.from(d.toString(16).padStart(64, '0'), 'hex'));
  const point = ecdh.getPublicKey();
  const privateKey = createPrivateKey({
    format: 'jwk',
    key: {
      kty: 'EC',
      crv: 'P-256',
      d: ecdh.getPrivateKey().toString('base64url'),
      x: point.subarray(1, 33).toString('base64url'),
      y: point.subarray(33).toString('base64url'),
    },
  });
  return { privateKey, publicKey: createPublicKey(privateKey), compressed: ecdh.getPublicKey('base64', 'compressed') };
}

describe('key vectors', () => {
  test('cover both compressed prefixes and a leading zero x coordinate', () => {
    const prefixes = new Set(keyVectors.keys.map((k) => Buffer.from(k.public_key, 'base64')[0]));
    assert.deepEqual([...prefixes].sort(), [2, 3]);
    assert.ok(keyVectors.keys.some((k) => k.public_key_uncompressed_hex.startsWith('0400')));
  });

  for (const k of keyVectors.keys) {
    test(k.label, () => {
      const fromPem = createPrivateKey(k.private_key_pkcs8_pem);
      assert.equal(fromPem.asymmetricKeyType, 'ec');
      assert.equal(fromPem.export({ format: 'jwk' }).d, k.jwk.d);
      assert.equal(encodePublicKey(createPublicKey(fromPem)), k.public_key);
      assert.equal(encodePublicKey(createPublicKey({ key: k.jwk, format: 'jwk' })), k.public_key);

      const ecdh = createECDH('prime256v1');
      ecdh.setPrivateKey(Buffer.from(k.jwk.d, 'base64url'));
      assert.equal(ecdh.getPublicKey('base64', 'compressed'), k.public_key);
      assert.equal(ecdh.getPublicKey('hex'), k.public_key_uncompressed_hex);

      const bytes = Buffer.from(k.public_key, 'base64');
      assert.equal(bytes.length, 33);
      const y = Buffer.from(k.public_key_uncompressed_hex, 'hex').subarray(33);
      assert.equal(bytes[0], 2 + (y[31]! & 1));
      assert.equal(fingerprintOf(k.public_key), k.fingerprint);
      assert.equal(sha256Hex(bytes), k.fingerprint);
      assert.ok(isFingerprint(k.fingerprint));

      const decoded = decodePublicKey(k.public_key).export({ format: 'jwk' });
      assert.deepEqual([decoded.x, decoded.y], [k.jwk.x, k.jwk.y]);
    });
  }

  test('fingerprints are distinct', () => {
    assert.equal(new Set(keyVectors.keys.map((k) => k.fingerprint)).size, keyVectors.keys.length);
  });

  for (const c of keyVectors.invalid) {
    test(`rejects ${c.name}`, () => {
      assert.throws(
        () => decodePublicKey(c.public_key),
        (err: unknown) => {
          assert.ok(err instanceof KeyFormatError);
          assert.equal(err.message, c.error);
          return true;
        },
      );
    });
  }

  test('off-curve vectors really have no point, and the others are well formed', () => {
    const offCurve = keyVectors.invalid.filter((c) => c.error.includes('not a point'));
    assert.ok(offCurve.length >= 3);
    for (const c of offCurve) {
      const bytes = Buffer.from(c.public_key, 'base64');
      assert.equal(bytes.toString('base64'), c.public_key);
      assert.equal(bytes.length, 33);
      assert.ok(bytes[0] === 2 || bytes[0] === 3);
      assert.equal(hasCurvePoint(BigInt(`0x${bytes.subarray(1).toString('hex')}`)), false);
    }
    for (const k of keyVectors.keys) {
      assert.ok(hasCurvePoint(BigInt(`0x${Buffer.from(k.public_key, 'base64').subarray(1).toString('hex')}`)));
    }
  });
});

describe('encode/decode properties', () => {
  test('any scalar: encoding matches SEC1 compression and decodes to the same point', () => {
    fc.assert(
      fc.property(fc.bigInt(1n, N - 1n), (d) => {
        const { publicKey, compressed } = keyFromScalar(d);
        const encoded = encodePublicKey(publicKey);
        assert.equal(encoded, compressed);
        assert.equal(encodePublicKey(decodePublicKey(encoded)), encoded);
        assert.deepEqual(decodePublicKey(encoded).export({ format: 'jwk' }), publicKey.export({ format: 'jwk' }));
        assert.equal(fingerprintOf(encoded), sha256Hex(Buffer.from(encoded, 'base64')));
      }),
      { numRuns: 200 },
    );
  });

  test('generated key pairs round trip and sign for their own encoded key', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 2 }), (payload) => {
        const { privateKey, publicKey } = generateP256KeyPair();
        const encoded = encodePublicKey(publicKey);
        assert.equal(encoded.length, 44);
        assert.ok([2, 3].includes(decodeBase64(encoded)[0]!));
        assert.ok(verifyPayload(DomainTag.pairing, payload, signPayload(DomainTag.pairing, payload, privateKey), encoded));
      }),
      { numRuns: 50 },
    );
  });

  test('a key decoded again comes from the cache; an invalid one is refused every time', () => {
    const encoded = encodePublicKey(generateP256KeyPair().publicKey);
    assert.equal(decodePublicKey(encoded), decodePublicKey(encoded));
    const offCurve = keyVectors.invalid.find((c) => c.error.includes('not a point'));
    assert.ok(offCurve, 'an off-curve vector');
    for (let i = 0; i < 2; i++) assert.throws(() => decodePublicKey(offCurve.public_key), KeyFormatError);
  });

  test('a private key encodes as its public key; keys that are not P-256 are refused', () => {
    const { privateKey, publicKey } = generateP256KeyPair();
    assert.equal(encodePublicKey(privateKey), encodePublicKey(publicKey));
    for (const other of [
      generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey,
      generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey,
      generateKeyPairSync('ed25519').publicKey,
      createSecretKey(Buffer.alloc(32)),
    ]) {
      assert.throws(() => encodePublicKey(other), KeyFormatError);
    }
  });

  test('flipping the prefix gives the negated point: other key, other fingerprint', () => {
    fc.assert(
      fc.property(fc.bigInt(1n, N - 1n), (d) => {
        const { privateKey, publicKey } = keyFromScalar(d);
        const bytes = Buffer.from(encodePublicKey(publicKey), 'base64');
        const flipped = Buffer.from(bytes);
        flipped[0] = bytes[0] === 2 ? 3 : 2;
        const flippedKey = flipped.toString('base64');
        assert.deepEqual(encodePublicKey(keyFromScalar(N - d).publicKey), flippedKey);
        assert.notEqual(fingerprintOf(flippedKey), fingerprintOf(bytes.toString('base64')));
        const sig = signPayload(DomainTag.mpaDecision, { d: 1 }, privateKey);
        assert.equal(verifyPayload(DomainTag.mpaDecision, { d: 1 }, sig, flippedKey), false);
      }),
      { numRuns: 50 },
    );
  });
});

describe('fingerprints', () => {
  test('a fingerprint identifies exactly one key', () => {
    const [a, b] = keyVectors.keys;
    assert.notEqual(fingerprintOf(a!.public_key), b!.fingerprint);
    const fp = fingerprintOf(a!.public_key);
    const changed = Buffer.from(a!.public_key, 'base64');
    changed[32]! ^= 1;
    assert.notEqual(fingerprintOf(changed.toString('base64')), fp);
  });

  test('isFingerprint accepts only 64 lower-case hex characters', () => {
    assert.equal(isFingerprint('0123456789abcdef'.repeat(4)), true);
    for (const bad of [
      '0123456789ABCDEF'.repeat(4),
      'a'.repeat(63),
      'a'.repeat(65),
      'g'.repeat(64),
      ` ${'a'.repeat(63)}`,
      42,
      null,
      undefined,
    ]) {
      assert.equal(isFingerprint(bad), false, String(bad));
    }
  });

  test('fingerprintOf rejects keys that are not standard base64', () => {
    assert.throws(() => fingerprintOf('not base64!'), KeyFormatError);
  });
});

describe('decodeBase64', () => {
  test('accepts canonical padded standard base64', () => {
    assert.deepEqual(decodeBase64('AA=='), Buffer.from([0]));
    assert.deepEqual(decodeBase64('+/8='), Buffer.from([0xfb, 0xff]));
    assert.deepEqual(decodeBase64(''), Buffer.alloc(0));
  });

  test('rejects non-canonical trailing bits', () => {
    for (const encoded of ['AB==', 'AAB=', '+/9=']) {
      assert.throws(() => decodeBase64(encoded), { name: 'KeyFormatError', message: 'expected canonical standard base64' });
    }
  });

  test('rejects other alphabets, missing padding and whitespace', () => {
    for (const encoded of ['-_8=', 'AA', 'AA=', 'A===', 'AA ==', 'AA==\n', '====']) {
      assert.throws(() => decodeBase64(encoded), KeyFormatError, JSON.stringify(encoded));
    }
  });

  test('round trips any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        assert.deepEqual(decodeBase64(Buffer.from(bytes).toString('base64')), Buffer.from(bytes));
      }),
    );
  });
});
