// One error catalogue: the protocol document, the Node SDK's README and the Go SDK list exactly the
// codes of ERROR_CATALOGUE, and the server answers Fastify's own failures with catalogue codes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERROR_CATALOGUE, ERROR_CODES, isErrorCode } from '@sigilauth/protocol';
import { startTestServer, type TestServer } from '../support/api.js';
import { createStore, type TestStore } from '../support/stores.js';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

/** The rows `| \`code\` | status | meaning |` of the table that follows `heading`. */
function catalogueTable(text: string, heading: string, file: string): Array<[string, number, string]> {
  const start = text.indexOf(heading);
  assert.ok(start >= 0, `${file} has "${heading}"`);
  const rows = [...text.slice(start).matchAll(/^\| `([a-z_]+)` +\| (\d{3}) +\| (.+?) +\|$/gm)];
  assert.ok(rows.length > 0, `${file} has a code table after "${heading}"`);
  return rows.map(([, code, status, meaning]) => [code!, Number(status), meaning!]);
}

const expected = Object.entries(ERROR_CATALOGUE).map(([code, { status, meaning }]) => [code, status, meaning]);

describe('the error catalogue', () => {
  test('docs/protocol.md lists every code with its status and meaning, and no other', () => {
    assert.deepEqual(catalogueTable(read('docs/protocol.md'), '## Error codes', 'docs/protocol.md'), expected);
  });

  test('every "`status code`" docs/protocol.md mentions is a catalogue code with that status', () => {
    const doc = read('docs/protocol.md');
    const mentions = [...doc.matchAll(/`(\d{3}) ([a-z][a-z_]+)`/g)];
    assert.ok(mentions.length > 5, 'the document names codes with their statuses');
    for (const [, status, code] of mentions) {
      assert.ok(isErrorCode(code), `docs/protocol.md names ${code}, which is not in the catalogue`);
      assert.equal(ERROR_CATALOGUE[code].status, Number(status), `docs/protocol.md gives ${code} status ${status}`);
    }
  });

  test("the Node SDK's README lists every code with its status and meaning, and no other", () => {
    assert.deepEqual(catalogueTable(read('packages/sdk/README.md'), "The server's codes", 'packages/sdk/README.md'), expected);
  });

  test('sdk-go/errors.go has one Code constant for every code, and no other', () => {
    const go = read('sdk-go/errors.go');
    const block = go.match(/\/\/ Error codes the server answers with[\s\S]*?\nconst \(\n([\s\S]*?)\n\)/);
    assert.ok(block, 'errors.go has the error code const block');
    const constants = [...block[1]!.matchAll(/^\t(Code\w+) = "([a-z_]+)"$/gm)];
    assert.deepEqual(constants.map(([, , code]) => code).sort(), [...ERROR_CODES].sort());
    for (const [, name, code] of constants) {
      const comment = new RegExp(`// ${name} \\(HTTP (\\d{3})\\): `).exec(block[1]!);
      assert.equal(Number(comment?.[1]), ERROR_CATALOGUE[code as keyof typeof ERROR_CATALOGUE].status, `${name}'s status`);
    }
  });
});

describe("the server answers Fastify's own failures with catalogue codes", () => {
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

  const cases: Array<[string, () => Promise<{ status: number; body: { error?: { code?: unknown } } }>, string]> = [
    ['a body that is not JSON', () => t.api.request('POST', '/v1/pairings', '{"name":'), 'invalid_json'],
    ['an empty JSON body', () => t.api.request('POST', '/v1/pairings', ''), 'invalid_json'],
    [
      'a body over the limit',
      () => t.api.request('POST', '/v1/pairings', JSON.stringify({ name: 'x'.repeat(20_000) })),
      'payload_too_large',
    ],
    [
      'a body of another type',
      () => t.api.request('POST', '/v1/pairings', 'name=x', { 'content-type': 'text/plain' }),
      'unsupported_media_type',
    ],
    ['a path with a bad percent-escape', () => t.api.request('GET', '/v1/mpa/requests/%E0%A4%A', undefined), 'invalid_request'],
    ['a schema violation', () => t.api.post('/v1/pairings', { name: 7 }), 'invalid_request'],
    ['no route', () => t.api.get('/v1/nothing-here'), 'not_found'],
    ['no API key', () => t.api.withKey(null).get('/v1/devices'), 'unauthorized'],
  ];
  for (const [what, send, code] of cases) {
    test(`${what}: ${code}`, async () => {
      const res = await send();
      assert.equal(res.body.error?.code, code);
      assert.equal(res.status, ERROR_CATALOGUE[code as keyof typeof ERROR_CATALOGUE].status);
    });
  }
});
