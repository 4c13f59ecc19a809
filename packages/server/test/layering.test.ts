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
