import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalize } from '../src/index.js';
import { jcsVectors, type JcsCase } from './vectors.js';

function input(c: JcsCase): unknown {
  if (c.ieee_hex !== undefined) return Buffer.from(c.ieee_hex, 'hex').readDoubleBE(0);
  return JSON.parse(c.input_json!);
}

function compareCodeUnits(a: string, b: string): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const d = a.charCodeAt(i) - b.charCodeAt(i);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

function shuffleKeys(value: unknown, seed: number): unknown {
  if (Array.isArray(value)) return value.map((v, i) => shuffleKeys(v, seed + i));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  const rotated = entries
    .slice(seed % (entries.length || 1))
    .concat(entries.slice(0, seed % (entries.length || 1)))
    .reverse();
  return Object.fromEntries(rotated.map(([k, v]) => [k, shuffleKeys(v, seed + 1)]));
}

describe('canonicalize: RFC 8785 vectors', () => {
  test('vector file has RFC examples, numbers and strings', () => {
    assert.ok(jcsVectors.valid.length >= 40);
    assert.ok(jcsVectors.valid.some((c) => c.name.includes('3.2.3 sorting')));
    assert.ok(jcsVectors.valid.filter((c) => c.ieee_hex !== undefined).length >= 20);
  });

  for (const c of jcsVectors.valid) {
    test(c.name, () => {
      const canonical = canonicalize(input(c));
      assert.equal(canonical, c.expected);
      assert.equal(canonicalize(JSON.parse(canonical)), canonical);
    });
  }

  for (const c of jcsVectors.invalid) {
    test(`rejects ${c.name}`, () => {
      assert.throws(() => canonicalize(input(c)), { name: 'TypeError', message: c.error });
    });
  }

  test('RFC 8785 sorting example orders keys by UTF-16 code units', () => {
    const sorting = jcsVectors.valid.find((c) => c.name.includes('3.2.3 sorting'))!;
    const keys = ['\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33'];
    const positions = keys.map((k) => sorting.expected.indexOf(`${JSON.stringify(k)}:`));
    assert.deepEqual(
      positions,
      [...positions].sort((a, b) => a - b),
    );
    assert.ok(positions.every((p) => p > 0));
    assert.equal(Buffer.from(sorting.expected, 'utf8').subarray(0, 8).toString('hex'), '7b225c72223a2243');
  });
});

describe('canonicalize: values JSON cannot carry', () => {
  test('non-finite numbers', () => {
    for (const n of [NaN, Infinity, -Infinity]) {
      assert.throws(() => canonicalize({ n }), { message: 'JCS: non-finite number' });
    }
  });

  test('lone surrogates in values and keys', () => {
    assert.throws(() => canonicalize('\ud800'), { message: 'JCS: string with a lone surrogate' });
    assert.throws(() => canonicalize(['ok', 'x\udfff']), { message: 'JCS: string with a lone surrogate' });
    assert.throws(() => canonicalize({ '\ud83d': 1 }), { message: 'JCS: string with a lone surrogate' });
  });

  test('undefined, functions, bigint and symbols', () => {
    assert.throws(() => canonicalize(undefined), { message: 'JCS: cannot canonicalize undefined' });
    assert.throws(() => canonicalize([1, undefined]), { message: 'JCS: cannot canonicalize undefined' });
    assert.throws(() => canonicalize(() => 1), { message: 'JCS: cannot canonicalize function' });
    assert.throws(() => canonicalize({ f: () => 1 }), { message: 'JCS: cannot canonicalize function' });
    assert.throws(() => canonicalize(1n), { message: 'JCS: cannot canonicalize bigint' });
    assert.throws(() => canonicalize(Symbol('s')), { message: 'JCS: cannot canonicalize symbol' });
  });

  test('sparse array holes are rejected rather than emitted as invalid JSON', () => {
    // eslint-disable-next-line no-sparse-arrays -- the hole is what is tested
    assert.throws(() => canonicalize([, 1]), { message: 'JCS: cannot canonicalize undefined' });
  });

  test('object members whose value is undefined are omitted', () => {
    assert.equal(canonicalize({ b: undefined, a: 1 }), '{"a":1}');
  });
});

describe('canonicalize: properties', () => {
  const json = fc.jsonValue({ stringUnit: 'grapheme', maxDepth: 4 });

  test('output is JSON that parses to the same data and is a fixed point', () => {
    fc.assert(
      fc.property(json, (value) => {
        const canonical = canonicalize(value);
        assert.deepEqual(JSON.parse(canonical), JSON.parse(JSON.stringify(value)));
        assert.equal(canonicalize(JSON.parse(canonical)), canonical);
      }),
      { numRuns: 300 },
    );
  });

  test('member order of the input does not matter', () => {
    fc.assert(
      fc.property(json, fc.nat(), (value, seed) => {
        assert.equal(canonicalize(shuffleKeys(value, seed)), canonicalize(value));
      }),
      { numRuns: 300 },
    );
  });

  test('members are sorted by UTF-16 code units', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ unit: 'grapheme', maxLength: 6 }), fc.integer()), (obj) => {
        const sorted = Object.entries(obj).sort(([a], [b]) => compareCodeUnits(a, b));
        assert.equal(canonicalize(obj), `{${sorted.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`);
      }),
      { numRuns: 300 },
    );
  });

  test('finite numbers serialize as ECMAScript Number.prototype.toString, -0 as 0', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (n) => {
        assert.equal(canonicalize(n), Object.is(n, -0) ? '0' : String(n));
      }),
      { numRuns: 500 },
    );
  });
});
