import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';

const ROOT = new URL('../../../../', import.meta.url);
const doc = readFileSync(new URL('docs/security.md', ROOT), 'utf8');

test('every test docs/security.md names exists, in the file it names', () => {
  const cited = [...doc.matchAll(/`([\w./-]+\.test\.ts)`: \*(.+?)\*/g)];
  assert.ok(cited.length >= 20, `${cited.length} tests cited`);
  for (const [, file, name] of cited) {
    assert.ok(existsSync(new URL(file!, ROOT)), `${file} exists`);
    assert.ok(readFileSync(new URL(file!, ROOT), 'utf8').includes(name!), `${file} has a test named "${name}"`);
  }
});

test('docs/security.md has the threat model, then the attacks, one subsection each', () => {
  const headings = [...doc.matchAll(/^(#{2,3}) (.+)$/gm)].map(([, level, title]) => `${level} ${title}`);
  assert.deepEqual(headings.slice(0, 2), ['## Threat model', '## Attacks and defences']);
  assert.ok(headings[2]?.startsWith('### '));
});
