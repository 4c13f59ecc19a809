// The web front ends take the protocol from @sigilauth/protocol and the WebAuthn conversions from
// @simplewebauthn/browser: no copy of either may come back into packages/server/web.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const WEB = fileURLToPath(new URL('../../web/', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : /\.(ts|mjs)$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

const FORBIDDEN: Array<[RegExp, string]> = [
  [/from '(\.\.\/)+protocol\//, 'imports protocol sources by relative path (import @sigilauth/protocol/<part>)'],
  [/SIGIL-[A-Z-]+-V\d/, 'spells a domain tag (use @sigilauth/protocol/domain)'],
  [/crypto\.subtle/, 'calls WebCrypto itself (use @sigilauth/protocol/crypto/web)'],
  [/\bBigInt\b|\d+n\b/, 'does big-number arithmetic (point decompression lives in @sigilauth/protocol/p256)'],
  [/navigator\.credentials\.(get|create)/, 'runs a WebAuthn ceremony by hand (use @simplewebauthn/browser)'],
  [/\batob\(|\bbtoa\(/, 'converts base64 by hand (use @sigilauth/protocol/bytes or @simplewebauthn/browser)'],
];

test('the web sources keep no copy of the protocol or of the WebAuthn conversions', () => {
  const files = sources(WEB);
  assert.ok(files.length > 10, 'web sources found');
  for (const file of files) {
    const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|^\s*\/\/.*$/gm, '');
    for (const [pattern, why] of FORBIDDEN) assert.doesNotMatch(code, pattern, `${relative(WEB, file)} ${why}`);
  }
});

test('the web sources import @sigilauth/protocol and @simplewebauthn/browser by name', () => {
  const all = sources(WEB)
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');
  for (const part of ['screen', 'decision', 'merkle', 'audit', 'crypto/web'])
    assert.match(all, new RegExp(`from '@sigilauth/protocol/${part}'`));
  assert.match(all, /from '@simplewebauthn\/browser'/);
});
