import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));
const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );

/** HTTP routes, command lines, start-up and the connection fan-out: they call the domain's storage modules, never SQL. */
const SQL_FREE = /(^|\/)(routes|[a-z-]+-routes|cli|app|server|device-gateway|request-fanout|events)\.ts$/;
const SQL = /\b(SELECT\s+[\w*(]|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b/;

test('route handlers, command lines and the fan-out hold no SQL', () => {
  const checked = files(SRC).filter((f) => SQL_FREE.test(f.slice(SRC.length)));
  assert.ok(checked.length >= 10, `found ${checked.length} files to check`);
  const offenders = checked.filter((f) => SQL.test(readFileSync(f, 'utf8'))).map((f) => f.slice(SRC.length));
  assert.deepEqual(offenders, []);
});

/** Runtime imports of a source file (type-only imports are erased and cost nothing). */
const runtimeImports = (file: string): string[] =>
  [...readFileSync(file, 'utf8').matchAll(/^import\s+(?!type\s)(?:[^'"]*?\s+from\s+)?'([^']+)'/gm)].map((m) => m[1]!);

test("the store procedures' modules load without the HTTP stack or the wire schemas: the embedded store's thread loads them too", () => {
  const reached = new Set<string>();
  const heavy: string[] = [];
  const visit = (file: string) => {
    if (reached.has(file)) return;
    reached.add(file);
    for (const spec of runtimeImports(file)) {
      if (spec.startsWith('.')) visit(join(file, '..', spec.replace(/\.js$/, '.ts')));
      else if (/^(fastify|@fastify\/|typebox|ajv)|^@sigilauth\/protocol\/wire/.test(spec))
        heavy.push(`${file.slice(SRC.length)} -> ${spec}`);
    }
  };
  visit(join(SRC, 'mpa/request-transitions.ts'));
  assert.ok(reached.size >= 10, `followed ${reached.size} modules`);
  assert.deepEqual(heavy, []);
});

test('every NOTIFY is sent through notifyOnCommit: inside a transaction on PostgreSQL it would hold up every announcing commit', () => {
  const code = (file: string) => readFileSync(file, 'utf8').replace(/^\s*(\/\/|\*|\/\*\*).*$/gm, '');
  const count = (text: string, pattern: RegExp) => [...text.matchAll(pattern)].length;
  const notifying = files(SRC).filter((f) => /pg_notify\s*\(|\bNOTIFY\s+\w/.test(code(f)));
  assert.ok(notifying.length >= 3, `found ${notifying.length} files that notify`);
  const elsewhere = notifying.filter((f) => {
    const text = code(f);
    return /\bNOTIFY\s+\w/.test(text) || count(text, /pg_notify\s*\(/g) !== count(text, /notifyOnCommit\(\s*`SELECT pg_notify\(/g);
  });
  assert.deepEqual(
    elsewhere.map((f) => f.slice(SRC.length)),
    [],
  );
});
