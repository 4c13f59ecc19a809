// The security headers docs/web-approver.md promises, on every page, asset and approver API
// answer (errors included) and on the server-sent event stream.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startTestServer, type TestServer } from '../../../../test/support/api.js';
import { createStore, type TestStore } from '../../../../test/support/stores.js';
import { pairPasskey, SoftwarePasskey } from '../../../../test/support/webauthn.js';

const DOC = readFileSync(new URL('../../../../docs/web-approver.md', import.meta.url), 'utf8');
/** Every `Header: value` the "Security headers" section names. */
const DOCUMENTED = [...(/## Security headers\n([\s\S]*?)(\n## |$)/.exec(DOC)?.[1] ?? '').matchAll(/`([A-Za-z-]+): ([^`]+)`/g)].map(
  (m) => [m[1]!.toLowerCase(), m[2]!] as const,
);

let store: TestStore;
let t: TestServer;
let cookie: string;

before(async () => {
  store = await createStore('pglite');
  t = await startTestServer(store);
  // A paired passkey's session, to reach the approver API and the event stream behind it.
  const code = (await t.api.post('/v1/pairings', { name: 'Phone' })).body.code;
  const paired = await pairPasskey(t.api, code, SoftwarePasskey.create(t.server.publicOrigin!), { name: 'Phone' });
  assert.equal(paired.complete?.status, 200, JSON.stringify(paired.complete?.body));
  assert.ok(paired.cookie, 'the pairing opened an approver session');
  cookie = paired.cookie;
});
after(async () => {
  await t?.close();
  await store?.dispose();
});

function assertSecure(what: string, headers: Headers): void {
  for (const [name, value] of DOCUMENTED)
    assert.ok(headers.get(name)?.includes(value), `${what}: ${name} is ${headers.get(name)}, documented ${value}`);
  const csp = headers.get('content-security-policy') ?? '';
  assert.match(csp, /frame-ancestors 'none'/, what);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/, what);
  assert.equal(headers.get('x-frame-options'), 'DENY', what);
  const permissions = headers.get('permissions-policy') ?? '';
  assert.match(permissions, /publickey-credentials-create=\(self\)/, what);
  assert.match(permissions, /publickey-credentials-get=\(self\)/, what);
}

test('the documented headers are the ones checked', () => {
  assert.deepEqual(
    DOCUMENTED.map(([name]) => name),
    ['content-security-policy', 'x-frame-options', 'referrer-policy', 'x-content-type-options'],
  );
});

test('pages, assets and every approver API answer, errors included, carry the security headers', async () => {
  const withSession = { cookie };
  const requests: Array<[string, RequestInit?]> = [
    ['/approve'],
    ['/approve/pair?code=12345678'],
    ['/approve/requests/7c3e5f9a-2b4d-4a1e-8f6c-9d2a1b3c4e5f'],
    ['/console'],
    ['/web/approve.js'],
    ['/web/console.js'],
    ['/web/sigil.css'],
    ['/web/missing.js'],
    ['/approve/api/config'],
    ['/approve/api/me', { headers: withSession }],
    ['/approve/api/me'],
    ['/approve/api/requests', { headers: withSession }],
    ['/approve/api/requests/7c3e5f9a-2b4d-4a1e-8f6c-9d2a1b3c4e5f', { headers: withSession }],
    ['/approve/api/pair/options', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"code":"00000000"}' }],
    ['/approve/api/session/options', { method: 'POST' }],
    ['/approve/events'],
  ];
  const statuses: number[] = [];
  for (const [path, init] of requests) {
    const res = await fetch(`${t.server.url}${path}`, init);
    await res.arrayBuffer();
    statuses.push(res.status);
    assertSecure(`${init?.method ?? 'GET'} ${path} (${res.status})`, res.headers);
  }
  // Successes and refusals alike.
  assert.ok(statuses.includes(200) && statuses.includes(401) && statuses.includes(404) && statuses.includes(400), statuses.join(','));
});

test('the server-sent event stream carries the security headers', async () => {
  const controller = new AbortController();
  const res = await fetch(`${t.server.url}/approve/events`, { headers: { cookie }, signal: controller.signal });
  try {
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    assertSecure('GET /approve/events (stream)', res.headers);
  } finally {
    controller.abort();
  }
});
