// What a client is told when a request breaks a route's schema: the field, and the rule in words it
// can act on, never a regular expression or Ajv's "must be equal to constant".
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../../../test/support/api.js';
import { createStore, type TestStore } from '../../../test/support/stores.js';

const FINGERPRINT = '0'.repeat(64);

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

const CASES: Array<[method: string, path: string, body: unknown, message: string]> = [
  [
    'GET',
    '/v1/devices/abc/notifications',
    undefined,
    'params/fingerprint must be a device fingerprint: 64 lower-case hexadecimal characters',
  ],
  ['PUT', `/v1/devices/${FINGERPRINT}/owner`, { owner_id: 'Zoë' }, 'body/owner_id must be 1-200 printable ASCII characters without spaces'],
  [
    'PUT',
    `/v1/devices/${FINGERPRINT}/owner`,
    { owner_id: 'user 42' },
    'body/owner_id must be 1-200 printable ASCII characters without spaces',
  ],
  ['PUT', `/v1/devices/${FINGERPRINT}/owner`, { owner_id: 42 }, 'body/owner_id must be a string or null'],
  [
    'POST',
    '/v1/teams',
    { slug: '-ops', name: 'Ops' },
    "body/slug must be a team slug: 1-63 lower-case letters, digits, '-' or '_', starting with a letter or digit",
  ],
  ['POST', '/v1/teams', { slug: 'ops', name: ' \t ' }, 'body/name must contain a character other than white space'],
  ['POST', '/v1/teams', { slug: 'ops', name: 7 }, 'body/name must be a string'],
  ['GET', '/v1/mpa/requests/nope', undefined, 'params/id must be a UUID, such as 0b6d7a3e-5f4c-4f7e-9c1a-2d3b4c5d6e7f'],
  [
    'GET',
    '/v1/mpa/requests?status=done',
    undefined,
    "querystring/status must be one of: 'pending', 'approved', 'rejected', 'timeout', 'cancelled'",
  ],
  ['GET', '/v1/mpa/requests?limit=101', undefined, 'querystring/limit must be a whole number from 1 to 100'],
  ['GET', '/v1/mpa/requests?limit=007', undefined, 'querystring/limit must be a whole number from 1 to 100'],
  ['GET', '/v1/mpa/requests?cursor=a.b', undefined, "querystring/cursor must be an earlier page's next_cursor, unchanged"],
  ['GET', '/v1/audit?limit=1001', undefined, 'querystring/limit must be a whole number from 1 to 1000'],
  ['GET', '/v1/audit/proof/inclusion?index=-1', undefined, 'querystring/index must be a whole number of at most 15 digits'],
  [
    'GET',
    '/v1/audit?since=yesterday',
    undefined,
    'querystring/since must be an RFC 3339 date-time in the years 0001-9999, such as 2026-01-31T12:00:00Z',
  ],
  ['PATCH', '/v1/notifications/settings', { content: 'all' }, "body/content must be one of: 'full', 'title_only'"],
  [
    'PUT',
    '/v1/overrides/settings',
    { enabled: true, daily_limit: 'many', review_teams: [], review_required: 1, review_expires_in_seconds: 300 },
    'body/daily_limit must be an integer or null',
  ],
  [
    'PUT',
    '/v1/overrides/settings',
    { enabled: true, daily_limit: null, review_teams: ['ops', 'Sec'], review_required: 1, review_expires_in_seconds: 300 },
    "body/review_teams/1 must be a team slug: 1-63 lower-case letters, digits, '-' or '_', starting with a letter or digit",
  ],
  ['POST', '/v1/teams', { slug: 'ops', name: 'Ops', admin: true }, "body has unknown field 'admin'"],
];

test('a request that breaks a schema is told which field and the rule it broke, in words', async () => {
  for (const [method, path, body, message] of CASES) {
    const res = await t.api.request(method, path, body);
    assert.equal(res.status, 400, `${method} ${path}`);
    assert.deepEqual(res.body, { error: { code: 'invalid_request', message } }, `${method} ${path}`);
  }
});

test('no validation message quotes a pattern or a bare keyword', async () => {
  const bad: Array<[method: string, path: string, body?: unknown]> = [
    ['GET', '/v1/webhooks/00000000-0000-4000-8000-000000000000/deliveries?event_id=evt_1'],
    ['GET', '/v1/webhooks/00000000-0000-4000-8000-000000000000/deliveries?cursor=x'],
    ['GET', '/v1/webhooks/00000000-0000-4000-8000-000000000000/deliveries?status=ok'],
    ['POST', '/v1/pairings/complete', { payload: {}, signature: 'x' }],
    ['PUT', `/v1/devices/${FINGERPRINT}/time-zone`, { time_zone: 5 }],
  ];
  for (const [method, path, body] of bad) {
    const res = await t.api.request(method, path, body);
    assert.equal(res.status, 400, `${method} ${path}`);
    assert.doesNotMatch(res.body.error.message, /pattern|constant|\^|\$|\\/, `${method} ${path}: ${res.body.error.message}`);
  }
});
