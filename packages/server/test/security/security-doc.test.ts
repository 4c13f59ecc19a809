// docs/security.md names, for each attack, the attacker, the defence and the tests that perform the
// attack. This keeps it true: every cited test exists under the title it is cited by, every attack
// has the same form and is reachable from its attacker in the threat model, and every attack test
// in a security/ test directory is cited, so a new one cannot go undocumented.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const SELF = relative(ROOT, fileURLToPath(import.meta.url));
const doc = readFileSync(join(ROOT, 'docs/security.md'), 'utf8');
const lines = doc.split('\n');

const ATTACKERS = [
  'another organisation on the same server',
  'a malicious integrator',
  'someone holding a pairing code',
  'someone on the network',
  'an insider with database access',
] as const;
const SECTIONS = ['Threat model', 'Attacks and defences', 'What holds', 'Known limits'];
const ATTACK_PARAGRAPHS = ['Attacker', 'Attack', 'Defence', 'Tests'];
const SECURITY_TEST_DIRS = ['packages/server/test/security', 'test/security'];

/** A cited test: `path/to/file.test.ts`: *exact title*, optionally followed by a note in parentheses. */
const CITATION = /^- `([\w./-]+(?:\.test\.ts|_test\.go))`: \*([^*]+)\*(?: \(.+\))?$/;
/** Any test file named in backticks, cited or not. */
const TEST_FILE = /`([\w./-]+(?:\.test\.ts|_test\.go))`/;

interface Heading {
  level: number;
  title: string;
  line: number;
}

const headings: Heading[] = lines.flatMap((text, line) => {
  const m = /^(#{1,6}) (.+)$/.exec(text);
  return m ? [{ level: m[1]!.length, title: m[2]!, line }] : [];
});

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
const slug = (title: string) =>
  title
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');

/** The lines under a heading, up to the next heading of the same level or higher. */
function body(h: Heading): string[] {
  const next = headings.find((o) => o.line > h.line && o.level <= h.level);
  return lines.slice(h.line + 1, next?.line ?? lines.length);
}

const section = (title: string) => {
  const h = headings.find((o) => o.level === 2 && o.title === title);
  assert.ok(h, `docs/security.md has a "## ${title}" section`);
  return h;
};

const attacks = () => {
  const within = section('Attacks and defences');
  return headings.filter(
    (h) =>
      h.level === 4 && h.line > within.line && h.line < (headings.find((o) => o.line > within.line && o.level === 2)?.line ?? Infinity),
  );
};

/** The titles of a test file's tests as written in its source (a template title keeps its ${...}). */
function titlesIn(file: string): Set<string> {
  const source = readFileSync(join(ROOT, file), 'utf8');
  if (file.endsWith('_test.go')) return new Set([...source.matchAll(/^func (Test\w+)\(/gm)].map((m) => m[1]!));
  const literal = /\b(?:test|it)\(\s*(?:'((?:\\.|[^'\\])*)'|"((?:\\.|[^"\\])*)"|`((?:\\.|[^`\\])*)`)/g;
  return new Set([...source.matchAll(literal)].map((m) => (m[1] ?? m[2] ?? m[3]!).replace(/\\(.)/g, '$1')));
}

function testFilesUnder(dir: string): string[] {
  if (!existsSync(join(ROOT, dir))) return [];
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return testFilesUnder(path);
    return entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

const citations = () =>
  lines.flatMap((text, line) => {
    const m = CITATION.exec(text);
    return m ? [{ file: m[1]!, title: m[2]!, line: line + 1 }] : [];
  });

test('every test docs/security.md cites exists, under the title it is cited by', () => {
  const cited = citations();
  assert.ok(cited.length >= 40, `only ${cited.length} tests cited`);
  const titles = new Map<string, Set<string>>();
  for (const { file, title, line } of cited) {
    assert.ok(existsSync(join(ROOT, file)), `docs/security.md:${line} cites ${file}, which does not exist`);
    if (!titles.has(file)) titles.set(file, titlesIn(file));
    assert.ok(
      titles.get(file)!.has(title),
      `docs/security.md:${line} cites "${title}" in ${file}, which has no test of that title ` +
        '(cite it exactly as the source writes it: a template keeps its ${...}, a suite run per store has no [pglite] in its test titles)',
    );
  }
});

test('docs/security.md cites tests in one form only: a bullet `file`: *title*', () => {
  for (const [i, text] of lines.entries()) {
    const named = TEST_FILE.exec(text)?.[1];
    if (!named || named === SELF) continue;
    assert.match(text, CITATION, `docs/security.md:${i + 1} names a test file outside a "- \`file\`: *title*" bullet`);
  }
  assert.doesNotMatch(doc, /\*\*Proof\.\*\*/, 'tests are listed under **Tests.**, not **Proof.**');
});

test('docs/security.md has the threat model, the attacks grouped under short headings, what holds and the known limits', () => {
  assert.equal(lines[0], '# Security');
  assert.deepEqual(
    headings.filter((h) => h.level === 2).map((h) => h.title),
    SECTIONS,
  );
  const within = section('Attacks and defences');
  const inAttacks = headings.filter((h) => h.line > within.line && h.line < section('What holds').line);
  assert.equal(inAttacks[0]?.level, 3, 'the attacks open with a group (###)');
  for (const [i, h] of inAttacks.entries()) {
    assert.ok(h.level === 3 || h.level === 4, `"${h.title}": groups are ###, attacks ####`);
    if (h.level === 3) assert.equal(inAttacks[i + 1]?.level, 4, `the group "${h.title}" holds at least one attack`);
  }
  for (const h of headings.filter((o) => o.level >= 3)) {
    assert.ok(h.line > within.line && h.line < section('What holds').line, `"${h.title}" is a subsection outside the attacks`);
    assert.ok(h.title.length <= 50, `the heading "${h.title}" is short`);
    assert.doesNotMatch(h.title, /`/, `the heading "${h.title}" is plain text, so its anchor is predictable`);
  }
  assert.equal(new Set(attacks().map((h) => slug(h.title))).size, attacks().length, 'attack headings are unique');
});

test('every attack has Attacker, Attack, Defence and Tests, in that order, and cites at least one test', () => {
  assert.ok(attacks().length >= 15, `only ${attacks().length} attacks`);
  for (const h of attacks()) {
    const text = body(h);
    const labels = text.flatMap((l) => /^\*\*([A-Z][^*]*)\.\*\*/.exec(l)?.[1] ?? []);
    assert.deepEqual(labels, ATTACK_PARAGRAPHS, `"${h.title}" has the paragraphs ${ATTACK_PARAGRAPHS.join(', ')}`);
    const tests = text.slice(text.findIndex((l) => l.startsWith('**Tests.**')));
    assert.ok(
      tests.some((l) => CITATION.test(l)),
      `"${h.title}" cites a test under **Tests.**`,
    );
  }
});

/** The attacker an attack section names: its **Attacker.** paragraph starts with one of the five. */
function attackerOf(h: Heading): (typeof ATTACKERS)[number] {
  const line = body(h).find((l) => l.startsWith('**Attacker.**'))!;
  const named = line.replace('**Attacker.**', '').trim().toLowerCase();
  const attacker = ATTACKERS.find((a) => named.startsWith(a));
  assert.ok(attacker, `"${h.title}": **Attacker.** must start with one of: ${ATTACKERS.join('; ')} (it says "${named}")`);
  return attacker;
}

test('every attack names one of the five attackers, and the threat model links it from that attacker', () => {
  const model = body(section('Threat model'));
  const rows = new Map<string, string>();
  for (const row of model.filter((l) => l.startsWith('| **'))) {
    const name = /^\| \*\*([^*]+)\*\*/.exec(row)![1]!;
    rows.set(name, row);
  }
  assert.deepEqual([...rows.keys()], [...ATTACKERS], 'the attackers table has one row for each of the five attackers, in order');
  const attackSlugs = new Set(attacks().map((h) => slug(h.title)));
  for (const h of attacks()) {
    const anchor = `(#${slug(h.title)})`;
    assert.ok(rows.get(attackerOf(h))!.includes(anchor), `the threat model's row for ${attackerOf(h)} links to "${h.title}" ${anchor}`);
  }
  for (const row of rows.values()) {
    for (const [, target] of row.matchAll(/\]\(#([^)]+)\)/g)) {
      assert.ok(attackSlugs.has(target!) || target === 'known-limits', `the threat model links to #${target}, which is no attack`);
    }
  }
});

test('every link to a place in docs/security.md finds its heading', () => {
  const anchors = new Set(headings.map((h) => slug(h.title)));
  for (const [, target] of doc.matchAll(/\]\(#([^)]+)\)/g)) assert.ok(anchors.has(target!), `#${target} names no heading`);
});

test('every attack test under a security/ test directory is cited in docs/security.md', () => {
  const cited = new Set(citations().map((c) => c.file));
  const files = SECURITY_TEST_DIRS.flatMap(testFilesUnder).filter((f) => f !== SELF);
  assert.ok(files.length >= 10, `found ${files.length} security test files`);
  for (const file of files) assert.ok(cited.has(file), `${file} is an attack test that docs/security.md does not cite`);
});

test('what holds is stated with the tests that prove it, and the known limits are listed', () => {
  const holds = body(section('What holds'));
  const claims = holds.flatMap((l, i) => (/^\*\*[^*]+\.\*\*/.test(l) ? [i] : []));
  assert.ok(claims.length >= 5, 'what holds states each property in a bold sentence');
  for (const [k, start] of claims.entries()) {
    const own = holds.slice(start, claims[k + 1] ?? holds.length);
    assert.ok(
      own.some((l) => CITATION.test(l)),
      `"${holds[start]!.slice(0, 60)}…" cites the tests that prove it`,
    );
  }
  assert.ok(body(section('Known limits')).filter((l) => l.startsWith('- ')).length >= 2, 'the known limits are a list');
});
