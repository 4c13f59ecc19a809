// docs/architecture.md draws the layout of each package: every path it names exists, every file and
// folder in a drawn folder is named, and the protocol's subpaths are the ones its package exports.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');
const doc = read('docs/architecture.md');

interface Entry {
  path: string;
  subpaths: string[];
}

/** The code blocks that draw a folder: a first line `packages/…/`, then entries indented under it. */
function drawings(): Array<{ base: string; text: string; entries: Entry[] }> {
  const blocks = [...doc.matchAll(/^```\n(packages\/\S+\/)\n([\s\S]*?)^```$/gm)];
  return blocks.map(([, base, body]) => {
    const entries: Entry[] = [];
    const parents: string[] = [];
    for (const line of body!.split('\n')) {
      const match = /^( +)(\S+(?:, \S+)*)(?: {2,}(.*))?$/.exec(line);
      if (!match || !/^[\w.-]+(?:\/[\w.-]+)*\/?(?:, |$)/.test(match[2]!)) continue;
      const depth = match[1]!.length / 2 - 1;
      if (!Number.isInteger(depth)) continue;
      parents.length = depth;
      const names = match[2]!.split(', ');
      const subpaths = [...(match[3] ?? '').matchAll(/(?:^|\s)(\/[\w/]+)/g)].map((m) => m[1]!);
      for (const name of names) entries.push({ path: [...parents, name].join(''), subpaths });
      if (names.length === 1 && names[0]!.endsWith('/')) parents[depth] = names[0]!;
    }
    return { base: base!, text: body!, entries };
  });
}

const sources = (dir: string) =>
  readdirSync(new URL(dir, root), { withFileTypes: true })
    .filter((e) => e.isDirectory() || /\.(ts|mjs)$/.test(e.name))
    .map((e) => (e.isDirectory() ? `${e.name}/` : e.name));

describe('docs/architecture.md', () => {
  const drawn = drawings();

  test('draws the protocol, web, server and device packages', () => {
    assert.deepEqual(
      drawn.map((d) => d.base),
      ['packages/protocol/src/', 'packages/server/web/', 'packages/server/src/', 'packages/device/src/'],
    );
  });

  for (const { base, text, entries } of drawn) {
    test(`${base}: every path it names exists, and every file of a drawn folder is named`, () => {
      for (const { path } of entries) assert.ok(existsSync(new URL(base + path, root)), `${base}${path} exists`);
      const drawnFolders = [
        '',
        ...entries.map((e) => e.path).filter((p) => p.endsWith('/') && entries.some((e) => e.path.startsWith(p) && e.path !== p)),
      ];
      for (const folder of drawnFolders) {
        for (const name of sources(base + folder)) {
          const after = name.endsWith('/') ? '' : '($|[\\s,)])';
          const named = new RegExp(`(^|[\\s(,/])${name.replace(/[.]/g, '\\.')}${after}`, 'm');
          assert.ok(named.test(text), `${base}${folder}${name} is named in the drawing`);
        }
      }
    });
  }

  test("the protocol's subpaths are exactly those its package exports, each from the file named", () => {
    const exportsMap = JSON.parse(read('packages/protocol/package.json')).exports as Record<string, { default: string }>;
    const documented = new Map<string, string>();
    for (const { path, subpaths } of drawn[0]!.entries) {
      for (const subpath of subpaths) {
        const module = path.endsWith('/') ? `${path}index.ts` : path;
        if (documented.has(subpath)) documented.set(subpath, `${documented.get(subpath)}|${module}`);
        else documented.set(subpath, module);
      }
    }
    documented.set('/', 'index.ts');
    const exported = new Map(
      Object.entries(exportsMap).map(([key, target]) => [
        key === '.' ? '/' : key.slice(1),
        target.default.replace(/^\.\/dist\//, '').replace(/\.js$/, '.ts'),
      ]),
    );
    assert.deepEqual([...documented.keys()].sort(), [...exported.keys()].sort());
    for (const [subpath, module] of exported) {
      assert.ok(
        documented.get(subpath)!.split('|').includes(module),
        `${subpath} is exported from ${module}, as the drawing says (${documented.get(subpath)})`,
      );
    }
  });
});
