import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { PICTOGRAM_EMOJI, pictogramFor } from '../src/index.js';
import { pictogramVectors } from './vectors.js';

function indexesOf(serverId: string): number[] {
  const digest = createHash('sha256')
    .update(Buffer.concat([Buffer.from('sigil-pictogram\0'), Buffer.from(serverId, 'utf8')]))
    .digest();
  const first30 = BigInt(`0x${digest.subarray(0, 4).toString('hex')}`) >> 2n;
  return [24n, 18n, 12n, 6n, 0n].map((shift) => Number((first30 >> shift) & 63n));
}

describe('pictogram', () => {
  test('emoji list has 64 distinct emoji and 64 distinct names', () => {
    assert.equal(PICTOGRAM_EMOJI.length, 64);
    assert.equal(new Set(PICTOGRAM_EMOJI.map(([emoji]) => emoji)).size, 64);
    assert.equal(new Set(PICTOGRAM_EMOJI.map(([, name]) => name)).size, 64);
    for (const [emoji, name] of PICTOGRAM_EMOJI) {
      assert.ok(emoji.length > 0 && !emoji.includes(' ') && emoji.isWellFormed(), name);
      assert.match(name, /^[a-z]+( [a-z]+)*$/);
    }
  });

  for (const v of pictogramVectors.vectors) {
    test(`vector ${JSON.stringify(v.server_id.slice(0, 40))}`, () => {
      assert.deepEqual(indexesOf(v.server_id), v.indexes);
      assert.deepEqual(
        v.indexes.map((i) => PICTOGRAM_EMOJI[i]![0]),
        v.emoji,
      );
      assert.deepEqual(
        v.indexes.map((i) => PICTOGRAM_EMOJI[i]![1]),
        v.names,
      );
      assert.deepEqual(pictogramFor(v.server_id), { emoji: v.emoji, names: v.names, text: v.text });
    });
  }

  test('deterministic: five entries from the list, names and text matching the emoji', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 64 }), (serverId) => {
        const pic = pictogramFor(serverId);
        assert.deepEqual(pictogramFor(serverId), pic);
        assert.equal(pic.emoji.length, 5);
        assert.equal(pic.names.length, 5);
        assert.equal(pic.text, pic.emoji.join(' '));
        const indexes = indexesOf(serverId);
        assert.deepEqual(
          pic.emoji,
          indexes.map((i) => PICTOGRAM_EMOJI[i]![0]),
        );
        assert.deepEqual(
          pic.names,
          indexes.map((i) => PICTOGRAM_EMOJI[i]![1]),
        );
      }),
      { numRuns: 300 },
    );
  });

  test('different server ids give different pictograms', () => {
    const texts = new Set(Array.from({ length: 200 }, (_, i) => pictogramFor(`server-${i}`).text));
    assert.equal(texts.size, 200);
  });
});
