import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isLowS, PICTOGRAM_EMOJI, pictogramFor, STATUS_REQUEST_MAX_IDS, toLowS } from '../src/index.js';
import { signatureVectors } from './vectors.js';
import * as deviceSession from '../src/wire/device-session.js';

/** docs/protocol.md is what a device is built from: these fail when it and the code disagree. */
const doc = readFileSync(new URL('../../../docs/protocol.md', import.meta.url), 'utf8');

function section(heading: string): string {
  const start = doc.indexOf(`${heading}\n`);
  assert.ok(start >= 0, `docs/protocol.md has "${heading}"`);
  const rest = doc.slice(start + heading.length + 1);
  const next = rest.search(/^#{2,3} /m);
  return next < 0 ? rest : rest.slice(0, next);
}

describe('docs/protocol.md', () => {
  test('the pictogram table is PICTOGRAM_EMOJI: every index, emoji, code point and name', () => {
    const rows = [...section('### Server pictogram').matchAll(/^\| (\d+) \| (.+?) \| ((?:U\+[0-9A-F]{4,6} ?)+) \| (.+?) \|$/gm)];
    assert.equal(rows.length, PICTOGRAM_EMOJI.length);
    rows.forEach(([, index, emoji, codePoints, name], i) => {
      assert.equal(Number(index), i);
      assert.equal(emoji, PICTOGRAM_EMOJI[i]![0], `emoji ${i}`);
      assert.equal(name, PICTOGRAM_EMOJI[i]![1], `name ${i}`);
      const fromCodePoints = String.fromCodePoint(
        ...codePoints!
          .trim()
          .split(' ')
          .map((u) => parseInt(u.slice(2), 16)),
      );
      assert.equal(fromCodePoints, PICTOGRAM_EMOJI[i]![0], `code points ${i}`);
    });
  });

  test('the pictogram example is what pictogramFor computes', () => {
    const text = section('### Server pictogram').replace(/\s+/g, ' ');
    const example = text.match(
      /the `server_id` `([0-9a-f]{64})` .*? gives `b = 0x([0-9a-f]{8})`, indexes ([\d, ]+) and the pictogram (.+?) \((.+?)\)\./,
    );
    assert.ok(example, 'the example sentence');
    const [, serverId, b, indexes, emoji, names] = example;
    const digest = createHash('sha256').update('sigil-pictogram\0').update(serverId!).digest();
    assert.equal(digest.readUInt32BE(0).toString(16).padStart(8, '0'), b);
    const expected = pictogramFor(serverId!);
    assert.deepEqual(
      indexes!.split(', ').map((i) => PICTOGRAM_EMOJI[Number(i)]![0]),
      expected.emoji,
    );
    assert.equal(emoji, expected.text);
    assert.equal(names, expected.names.join(', '));
  });

  test('the low-S rule names the order of P-256 that signatures are normalised with', () => {
    const n = BigInt(section('### Low S').match(/`n = (0x[0-9a-f]{64})`/)![1]!);
    const vector = signatureVectors.valid[0]!;
    const signature = Buffer.from(vector.signature, 'base64');
    const s = BigInt(`0x${signature.subarray(32).toString('hex')}`);
    const high = Buffer.concat([signature.subarray(0, 32), Buffer.from((n - s).toString(16).padStart(64, '0'), 'hex')]);
    assert.equal(isLowS(signature), true);
    assert.equal(isLowS(high), false);
    assert.deepEqual(toLowS(high), signature);
  });

  test('the device status request takes as many IDs as STATUS_REQUEST_MAX_IDS', () => {
    const session = section('## Device session (WebSocket)');
    assert.match(session, /\{ "type": "status", "request_ids": \[/);
    assert.match(session, new RegExp(`At most ${STATUS_REQUEST_MAX_IDS} IDs\\.`));
  });

  test('the device session names the schema of every message', () => {
    const session = section('## Device session (WebSocket)');
    const schemas = Object.keys(deviceSession).filter((name) => name.endsWith('Schema'));
    assert.ok(schemas.length >= 8, 'the device session schemas');
    for (const name of [...schemas, 'DeviceRequestViewSchema']) assert.match(session, new RegExp(`\\b${name}\\b`), name);
  });
});
