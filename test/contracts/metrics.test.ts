// One list of metrics: the table in docs/deployment.md's "What to monitor" names every metric the
// server serves at /metrics, and serves every metric it names.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startTestServer, type TestServer } from '../support/api.js';
import { createStore, type TestStore } from '../support/stores.js';

/** The `sigil_…` names in the first column of the table after "## What to monitor", wildcards as prefixes. */
function documentedMetrics(): string[] {
  const doc = readFileSync(new URL('../../docs/deployment.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('## What to monitor'));
  const table = section.slice(section.indexOf('| metric |'), section.indexOf('\n\n', section.indexOf('| metric |')));
  const names = [...table.matchAll(/^\|([^|]+)\|/gm)].flatMap(([, first]) =>
    [...first!.matchAll(/`(sigil_[a-z_*]+)(?:\{[^}]*\})?`/g)].map((m) => m[1]!),
  );
  assert.ok(names.length > 5, 'docs/deployment.md has a table of metrics under "What to monitor"');
  return names;
}

let store: TestStore;
let t: TestServer;
before(async () => {
  store = await createStore('pglite');
  t = await startTestServer(store);
});
after(async () => {
  await t?.close();
  await store?.dispose();
});

test("docs/deployment.md's table of metrics names exactly the metrics /metrics serves", async () => {
  const text = await (await fetch(`${t.server.url}/metrics`)).text();
  const served = [...text.matchAll(/^# HELP (sigil_\w+) /gm)].map((m) => m[1]!);
  const documented = documentedMetrics();
  const covers = (doc: string, name: string) => (doc.endsWith('*') ? name.startsWith(doc.slice(0, -1)) : name === doc);
  assert.deepEqual(
    served.filter((name) => !documented.some((doc) => covers(doc, name))),
    [],
    'served but not in the table',
  );
  assert.deepEqual(
    documented.filter((doc) => !served.some((name) => covers(doc, name))),
    [],
    'in the table but not served',
  );
});
