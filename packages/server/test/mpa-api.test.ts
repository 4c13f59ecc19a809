import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { actionDigest } from '@sigilauth/protocol';
import { deviceViews } from '../src/mpa/request-queries.js';
import { coldBootRequest, pairDevice, startTestServer, type TestServer } from '../../../test/support/api.js';
import { TestDevice } from '../../../test/support/device-keys.js';
import { createStore, describeEachStore, type TestStore } from '../../../test/support/stores.js';

describeEachStore('MPA requests over HTTP', (kind) => {
  let store: TestStore;
  let t: TestServer;
  const [alice, bob, carol, dave, eve] = ['Alice', 'Bob', 'Carol', 'Dave', 'Eve'].map((n) => new TestDevice(n)) as [
    TestDevice,
    TestDevice,
    TestDevice,
    TestDevice,
    TestDevice,
  ];
  const body = (expires = 600) => coldBootRequest({ engineering: [alice, bob], security: [carol], operations: [dave, eve] }, expires);
  const decide = (device: TestDevice, id: string, decision: 'approve' | 'deny', digest: string) =>
    t.api.withKey(null).post(`/v1/mpa/requests/${id}/decisions`, device.decisionBody(t.serverId, id, digest, decision));
  const digestOf = (created: { action: Parameters<typeof actionDigest>[0] }) => actionDigest(created.action);

  before(async () => {
    store = await createStore(kind);
    t = await startTestServer(store);
    for (const d of [alice, bob, carol, dave, eve]) await pairDevice(t.api, t.serverId, d);
  });
  after(async () => {
    await t?.close();
    await store?.dispose();
  });

  test('the guide example: Alice and Carol approve, Dave and Eve never answer', async () => {
    const created = await t.api.post('/v1/mpa/requests', body());
    assert.equal(created.status, 201);
    assert.equal(created.body.status, 'pending');
    assert.equal(created.body.groups_required, 2);
    assert.equal(created.body.groups_total, 3);
    assert.match(created.body.request_id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const id = created.body.request_id;
    const digest = digestOf(created.body);

    const first = await decide(alice, id, 'approve', digest);
    assert.equal(first.status, 200);
    assert.equal(first.body.status, 'pending');
    assert.equal(first.body.groups_satisfied_count, 1);
    assert.equal((await decide(bob, id, 'approve', digest)).body.groups_satisfied_count, 1, 'a second approval in a group adds nothing');
    const second = await decide(carol, id, 'approve', digest);
    assert.equal(second.body.status, 'approved');

    const result = await t.api.get(`/v1/mpa/requests/${id}`);
    assert.equal(result.body.status, 'approved');
    assert.deepEqual(result.body.groups_satisfied, ['Engineering Leads', 'Security Team']);
    assert.ok(result.body.completed_at);
    assert.doesNotMatch(JSON.stringify(result.body), new RegExp(`${alice.fingerprint}|${carol.fingerprint}`), 'never names an approver');

    const late = await decide(dave, id, 'deny', digest);
    assert.equal(late.status, 409);
    assert.equal(late.body.error.code, 'request_completed');
    assert.equal(late.body.error.details.status, 'approved');
  });

  test('a decision is answered with the request as the deciding device now sees it', async () => {
    const { body: created } = await t.api.post('/v1/mpa/requests', body());
    const id = created.request_id;
    for (const [device, decision, status, satisfied] of [
      [alice, 'approve', 'pending', 1],
      [carol, 'approve', 'approved', 2],
    ] as const) {
      const answer = await decide(device, id, decision, digestOf(created));
      assert.equal(answer.status, 200);
      const [view] = await deviceViews(t.server.db, { tenantId: answer.body.tenant_id, fingerprint: device.fingerprint }, [id], Date.now());
      assert.deepEqual(answer.body, JSON.parse(JSON.stringify(view)), 'the same view a device gets when it syncs');
      assert.equal(answer.body.status, status);
      assert.equal(answer.body.my_decision, decision);
      assert.equal(answer.body.groups_satisfied_count, satisfied);
      assert.equal(answer.body.org_name, 'Acme Corp');
    }
  });

  test('any denial rejects at once and hides who denied', async () => {
    const { body: created } = await t.api.post('/v1/mpa/requests', body());
    await decide(alice, created.request_id, 'approve', digestOf(created));
    const denied = await decide(eve, created.request_id, 'deny', digestOf(created));
    assert.equal(denied.body.status, 'rejected');
    const result = await t.api.get(`/v1/mpa/requests/${created.request_id}`);
    assert.equal(result.body.status, 'rejected');
    assert.deepEqual(result.body.groups_satisfied, ['Engineering Leads']);
    assert.doesNotMatch(JSON.stringify(result.body), new RegExp(eve.fingerprint));
  });

  test('cancel ends a pending request; a terminal request cannot be cancelled', async () => {
    const { body: created } = await t.api.post('/v1/mpa/requests', body());
    const cancelled = await t.api.post(`/v1/mpa/requests/${created.request_id}/cancel`);
    assert.equal(cancelled.status, 200);
    assert.equal(cancelled.body.status, 'cancelled');
    const again = await t.api.post(`/v1/mpa/requests/${created.request_id}/cancel`);
    assert.equal(again.status, 409);
    assert.equal(again.body.error.details.status, 'cancelled');
    assert.equal((await decide(alice, created.request_id, 'approve', digestOf(created))).status, 409);
  });

  test('Idempotency-Key: same key and body return the same request; another body is a 409', async () => {
    const headers = { 'idempotency-key': `key-${kind}` };
    const a = await t.api.post('/v1/mpa/requests', body(), headers);
    const b = await t.api.post('/v1/mpa/requests', body(), headers);
    assert.equal(a.status, 201);
    assert.equal(b.status, 201);
    assert.equal(b.body.request_id, a.body.request_id);
    assert.equal(b.headers.get('idempotent-replayed'), 'true');
    const c = await t.api.post('/v1/mpa/requests', body(300), headers);
    assert.equal(c.status, 409);
    assert.equal(c.body.error.code, 'idempotency_conflict');
  });

  test('list filters by status and paginates newest first', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await t.api.post('/v1/mpa/requests', body())).body.request_id);
    const page1 = await t.api.get('/v1/mpa/requests?status=pending&limit=2');
    assert.equal(page1.status, 200);
    assert.deepEqual(
      page1.body.data.map((r: { request_id: string }) => r.request_id),
      [ids[2], ids[1]],
    );
    assert.ok(page1.body.next_cursor);
    const page2 = await t.api.get(`/v1/mpa/requests?status=pending&limit=2&cursor=${page1.body.next_cursor}`);
    assert.equal(page2.body.data[0].request_id, ids[0]);
    assert.ok(page2.body.data.every((r: { status: string }) => r.status === 'pending'));
    const approved = await t.api.get('/v1/mpa/requests?status=approved');
    assert.ok(approved.body.data.length >= 1);
    assert.ok(approved.body.data.every((r: { status: string }) => r.status === 'approved'));
    assert.equal((await t.api.get('/v1/mpa/requests?status=done')).status, 400);
    assert.equal((await t.api.get('/v1/mpa/requests?cursor=nonsense')).status, 400);
  });

  test('action params keep the order the integrator sent', async () => {
    const params = { zone: 'eu-1', amount: 10, approved: true, ticket: 'T-1' };
    const created = await t.api.post('/v1/mpa/requests', { ...body(), action: { type: 'x', description: 'y', params } });
    const fetched = await t.api.get(`/v1/mpa/requests/${created.body.request_id}`);
    assert.deepEqual(Object.keys(fetched.body.action.params), Object.keys(params));
  });

  test('unknown request ids are 404 with a JSON error', async () => {
    const res = await t.api.get('/v1/mpa/requests/7c3e5f9a-2b4d-4a1e-8f6c-9d2a1b3c4e5f');
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, 'not_found');
    assert.equal((await t.api.get('/v1/mpa/requests/not-a-uuid')).status, 400);
  });
});
