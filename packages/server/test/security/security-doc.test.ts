// docs/security.md names, for each attack, the test that proves the defence: a test file and the
// quoted titles of its tests. This keeps those references true: every named file exists and
// every quoted title is the title of a test in it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** Test titles of a file, as patterns: a template title's ${...} parts match anything. */
function titlesOf(file: string): RegExp[] {
  const source = readFileSync(`${ROOT}${file}`, 'utf8');
  return [...source.matchAll(/\btest\(\s*(['`])((?:\\.|(?!\1).)*)\1/gs)].map(([, , title]) => {
    const parts = title!.split(/\$\{[^}]*\}/).map((p) => p.replace(/\\'/g, "'").replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    return new RegExp(`^${parts.join('.+')}$`);
  });
}

test('every test docs/security.md cites exists, under the title it is cited by', () => {
  const doc = readFileSync(`${ROOT}docs/security.md`, 'utf8');
  // A "**Proof.**" paragraph: file references in backticks, each followed by the quoted titles of its tests.
  const proofs = [...doc.matchAll(/\*\*Proof\.\*\*([\s\S]*?)(?=\n\n|$)/g)].map((m) => m[1]!.replace(/\s+/g, ' '));
  assert.ok(proofs.length > 0, 'no Proof paragraphs found');
  let cited = 0;
  for (const proof of proofs) {
    for (const [, file, rest] of proof.matchAll(/`(packages\/[^`]+\.test\.ts)`([^`]*)/g)) {
      assert.ok(existsSync(`${ROOT}${file}`), `docs/security.md cites ${file}, which does not exist`);
      const titles = titlesOf(file!);
      for (const [, title] of rest!.matchAll(/"([^"]+)"/g)) {
        cited++;
        assert.ok(titles.some((t) => t.test(title!)), `docs/security.md cites "${title}" in ${file}, which has no such test`);
      }
    }
  }
  assert.ok(cited >= 20, `only ${cited} test titles cited`);
});
