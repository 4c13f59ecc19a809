import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { actionDigest } from '@sigilauth/protocol';
import { pairDevice, startTestServer, type TestServer } from '../../../../test/support/api.js';
import { TestDevice } from '../../../../test/support/device-keys.js';
import { createStore, describeEachStore, type TestStore } from '../../../../test/support/stores.js';
import { waitFor } from '../../../../test/support/wait.js';

const DAY_MS = 24 * 3_600_000;

describeEachStore('break-glass overrides', (kind) => {
  let store: TestStore;
  let t: TestServer;
  let now = Date.now();
  const [alice, bob, carol, dave] = ['Alice', 'Bob', 'Carol', 'Dave'].map((n) => new TestDevice(n)) as [
    TestDevice,
    TestDevice,
    TestDevice,
    TestDevice,
  ];
  const put = (path: string, body: unknown) => t.api.request('PUT', path, body);
  const settings = (change: Record<string, unknown> = {}) =>
    put('/v1/overrides/settings', {
      enabled: true,
      daily_limit: 2,
      review_teams: ['security', 'eng'],
      review_required: 1,
      review_expires_in_seconds: 600,
      ...change,
    });
  const override = (extra: Record<string, unknown> = {}) =>
    t.api.post('/v1/overrides', {
      reason: 'Engine ENG-001 overheating; no quorum reachable at 3am',
      action: { type: 'cold_boot', description: 'Cold boot engine ENG-001', params: { engine_id: 'ENG-001' } },
      ...extra,
    });
  const decide = (device: TestDevice, id: string, decision: 'approve' | 'deny', digest: string) =>
    t.api.withKey(null).post(`/v1/mpa/requests/${id}/decisions`, device.decisionBody(t.serverId, id, digest, decision, { issued_at: now }));
  const events = async (type: string) =>
    (await t.server.db.query<{ payload: any }>('SELECT payload FROM events WHERE type = $1 ORDER BY created_at, id', [type])).map(
      (r) => r.payload,
    );
  const overrideCount = async () => Number((await t.server.db.query<{ n: string }>('SELECT count(*) AS n FROM overrides'))[0]!.n);

  before(async () => {
    store = await createStore(kind);
    t = await startTestServer(store, { clock: () => now });
    for (const d of [alice, bob, carol, dave]) await pairDevice(t.api, t.serverId, d);
    await t.api.post('/v1/teams', { slug: 'security', name: 'Security Team', members: [carol.fingerprint, dave.fingerprint] });
    await t.api.post('/v1/teams', { slug: 'eng', name: 'Engineering Leads', members: [alice.fingerprint, bob.fingerprint] });
    await t.api.request('PATCH', `/v1/devices/${dave.fingerprint}`, { email: 'dave@example.com' });
  });
  after(async () => {
    await t?.close();
    await store?.dispose();
  });

  test('overrides are off until an organisation turns them on with review teams', async () => {
    const off = await override();
    assert.equal(off.status, 403);
    assert.equal(off.body.error.code, 'overrides_disabled');
    assert.deepEqual((await t.api.get('/v1/overrides/settings')).body, {
      enabled: false,
      daily_limit: null,
      review_teams: [],
      review_required: 1,
      review_expires_in_seconds: 900,
    });
    assert.equal((await settings({ review_teams: [] })).status, 400);
    const unknown = await settings({ review_teams: ['nobody'] });
    assert.equal(unknown.body.error.code, 'unknown_team');
    assert.equal((await settings({ review_required: 3 })).status, 400);
    assert.equal((await settings({ daily_limit: 0 })).status, 400);
    assert.equal(await overrideCount(), 0);
  });

  test('an override returns at once with its review request, which notifies the review teams', async () => {
    assert.equal((await settings()).status, 200);
    const created = await override();
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const o = created.body;
    assert.equal(o.status, 'awaiting_review');
    assert.equal(o.review_status, 'pending');
    assert.equal(o.review_request.request_id, o.review_request_id);
    assert.equal(o.review_request.action.type, 'emergency_override');
    assert.equal(o.review_request.action.description, 'Emergency override: Cold boot engine ENG-001');
    assert.deepEqual(o.review_request.action.params, {
      override_reason: 'Engine ENG-001 overheating; no quorum reachable at 3am',
      override_action: 'cold_boot',
      override_id: o.override_id,
      engine_id: 'ENG-001',
    });
    assert.equal(o.review_request.groups_total, 2);

    const approvers = await t.server.db.query<{ fingerprint: string }>('SELECT fingerprint FROM mpa_approvers WHERE request_id = $1', [
      o.review_request_id,
    ]);
    assert.equal(approvers.length, 4, 'every member of the review teams is asked');
    const notified = await t.server.db.query<{ fingerprint: string; kind: string }>(
      'SELECT fingerprint, kind FROM notifications WHERE request_id = $1',
      [o.review_request_id],
    );
    assert.deepEqual(notified, [{ fingerprint: dave.fingerprint, kind: 'created' }], 'through the approvers’ own notification channels');

    const [event] = await events('override.created');
    assert.equal(event.override_id, o.override_id);
    assert.equal(event.review_request_id, o.review_request_id);
    const [entry] = await t.server.db.query<{ data: any; request_id: string }>(
      "SELECT data, request_id FROM audit_entries WHERE type = 'override.created'",
    );
    assert.equal(entry!.data.emergency, true, 'flagged in the audit log');
    assert.equal(entry!.request_id, o.review_request_id);

    const awaiting = await t.api.get('/v1/overrides?status=awaiting_review');
    assert.deepEqual(
      awaiting.body.data.map((x: { override_id: string }) => x.override_id),
      [o.override_id],
    );

    // Dave endorses it: the override leaves the list awaiting review, with an override.reviewed event.
    assert.equal((await decide(dave, o.review_request_id, 'approve', actionDigest(o.review_request.action))).body.status, 'approved');
    assert.deepEqual((await t.api.get('/v1/overrides?status=awaiting_review')).body.data, []);
    const [reviewed] = (await t.api.get('/v1/overrides?status=reviewed')).body.data;
    assert.equal(reviewed.review_status, 'approved');
    assert.ok(reviewed.reviewed_at);
    const [reviewedEvent] = await events('override.reviewed');
    assert.deepEqual(
      [reviewedEvent.override_id, reviewedEvent.outcome, reviewedEvent.groups_satisfied],
      [o.override_id, 'approved', ['Security Team']],
    );
  });

  test('the daily limit: the limit-th override in 24 hours passes, the next is a 429 until the first is a day old', async () => {
    const first = (
      await t.server.db.query<{ created_at: Date }>('SELECT created_at FROM overrides ORDER BY created_at')
    )[0]!.created_at.getTime();
    now += 1000;
    const second = await override({ requested_by: { fingerprint: carol.fingerprint } });
    assert.equal(second.status, 201);
    const reviewers = await t.server.db.query<{ fingerprint: string }>('SELECT fingerprint FROM mpa_approvers WHERE request_id = $1', [
      second.body.review_request_id,
    ]);
    assert.ok(!reviewers.some((r) => r.fingerprint === carol.fingerprint), 'the person who broke the glass does not review it');
    assert.equal(reviewers.length, 3);

    const third = await override();
    assert.equal(third.status, 429);
    assert.equal(third.body.error.code, 'override_limit_reached');
    assert.equal(third.body.error.details.limit, 2);
    const retryAfter = third.body.error.details.retry_after_seconds;
    assert.equal(retryAfter, Math.ceil((first + DAY_MS - now) / 1000));
    assert.equal(third.headers.get('retry-after'), String(retryAfter));
    assert.equal(await overrideCount(), 2, 'nothing was written');

    now = first + DAY_MS - 1;
    assert.equal((await override()).status, 429, 'one millisecond before the first is a day old');
    now = first + DAY_MS;
    assert.equal((await override()).status, 201, 'the first override has left the 24 hours');
    assert.equal((await override()).status, 429);
  });

  test('a review request that ends unanswered takes its override off the list, as timeout', async () => {
    const second = (await t.server.db.query<{ id: string }>('SELECT id FROM overrides ORDER BY created_at'))[1]!.id;
    const event = await waitFor(
      async () => (await events('override.reviewed')).find((e) => e.override_id === second),
      'the sweeper ends the second override’s review',
    );
    assert.equal(event.outcome, 'timeout');
    const listed = (await t.api.get('/v1/overrides')).body.data.find((o: { override_id: string }) => o.override_id === second);
    assert.equal(listed.status, 'reviewed');
  });

  test('an override whose review cannot be opened is refused whole; turned off, overrides are refused', async () => {
    now += DAY_MS;
    const before = await overrideCount();
    await t.api.request('PATCH', '/v1/teams/security', { min_members: 3 });
    const small = await override();
    assert.equal(small.status, 400);
    assert.equal(small.body.error.code, 'team_below_minimum');
    assert.equal(await overrideCount(), before);
    const reserved = await override({ action: { type: 'x', description: 'y', params: { override_id: 'mine' } } });
    assert.equal(reserved.status, 400);
    await t.api.request('PATCH', '/v1/teams/security', { min_members: 1 });
    assert.equal((await settings({ enabled: false })).status, 200);
    assert.equal((await override()).body.error.code, 'overrides_disabled');
    assert.equal(await overrideCount(), before);
  });

  test('a team that reviews overrides cannot be deleted until the settings stop naming it', async () => {
    assert.equal((await t.api.post('/v1/teams', { slug: 'ops', name: 'Operations', members: [bob.fingerprint] })).status, 201);
    assert.equal((await settings({ enabled: false, review_teams: ['security', 'ops'] })).status, 200);
    const refused = await t.api.request('DELETE', '/v1/teams/ops');
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.code, 'team_in_use');
    assert.match(refused.body.error.message, /team "ops" reviews emergency overrides/);
    assert.equal((await t.api.get('/v1/teams/ops')).status, 200, 'nothing was deleted');
    assert.equal((await settings({ enabled: false, review_teams: ['security'] })).status, 200);
    assert.deepEqual((await t.api.request('DELETE', '/v1/teams/ops')).body, { slug: 'ops', deleted: true });
  });
});
