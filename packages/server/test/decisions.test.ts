import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { actionDigest, DomainTag, signPayload } from '@sigilauth/protocol';
import { coldBootRequest, pairDevice, startTestServer, type TestServer } from '../../../test/support/api.js';
import { TestDevice } from '../../../test/support/device-keys.js';
import { createStore, describeEachStore, type TestStore } from '../../../test/support/stores.js';

describeEachStore('decision signatures are checked against every attack', (kind) => {
  let store: TestStore;
  let t: TestServer;
  const alice = new TestDevice('Alice');
  const carol = new TestDevice('Carol');
  const dave = new TestDevice('Dave');
  const mallory = new TestDevice('Mallory');
  let id: string;
  let otherId: string;
  let digest: string;
  const post = (requestId: string, b: unknown) => t.api.withKey(null).post(`/v1/mpa/requests/${requestId}/decisions`, b);

  before(async () => {
    store = await createStore(kind);
    t = await startTestServer(store);
    for (const d of [alice, carol, dave, mallory]) await pairDevice(t.api, t.serverId, d);
    const req = coldBootRequest({ engineering: [alice], security: [carol], operations: [dave] });
    const created = (await t.api.post('/v1/mpa/requests', req)).body;
    id = created.request_id;
    digest = actionDigest(created.action);
    otherId = (await t.api.post('/v1/mpa/requests', { ...req, action: { ...req.action, description: 'Cold boot engine ENG-002' } })).body
      .request_id;
  });
  after(async () => {
    await t?.close();
    await store?.dispose();
  });

  const refused = async (b: unknown, status: number, code: string, requestId = id) => {
    const res = await post(requestId, b);
    assert.equal(res.status, status, JSON.stringify(res.body));
    assert.equal(res.body.error.code, code);
  };

  test('signed by another key than the one named in the request', async () => {
    const forged = alice.decisionBody(t.serverId, id, digest, 'approve');
    forged.signature = signPayload(DomainTag.mpaDecision, forged.payload, mallory.privateKey);
    await refused(forged, 401, 'invalid_signature');
  });

  test('a valid signature over a different payload', async () => {
    const b = alice.decisionBody(t.serverId, id, digest, 'deny');
    await refused({ ...b, payload: { ...b.payload, decision: 'approve' } }, 401, 'invalid_signature');
  });

  test('signed under another domain tag', async () => {
    const b = alice.decisionBody(t.serverId, id, digest, 'approve');
    await refused({ ...b, signature: signPayload(DomainTag.pairing, b.payload, alice.privateKey) }, 401, 'invalid_signature');
  });

  test('a decision for another request', async () => {
    await refused(alice.decisionBody(t.serverId, otherId, digest, 'approve'), 400, 'invalid_request');
  });

  test('a decision for another action', async () => {
    const wrong = actionDigest({ type: 'cold_boot', description: 'Cold boot engine ENG-666', params: {} });
    await refused(alice.decisionBody(t.serverId, id, wrong, 'approve'), 400, 'action_mismatch');
  });

  test('a decision signed for another server', async () => {
    await refused(alice.decisionBody('0'.repeat(64), id, digest, 'approve'), 400, 'wrong_server');
  });

  test('a stale or future-dated decision', async () => {
    await refused(alice.decisionBody(t.serverId, id, digest, 'approve', { issued_at: Date.now() - 10 * 60_000 }), 400, 'stale_signature');
    await refused(alice.decisionBody(t.serverId, id, digest, 'approve', { issued_at: Date.now() + 10 * 60_000 }), 400, 'stale_signature');
  });

  test('a device that is paired but not in any group', async () => {
    await refused(mallory.decisionBody(t.serverId, id, digest, 'deny'), 403, 'not_an_approver');
  });

  test('a replayed decision is refused and counts once', async () => {
    const b = alice.decisionBody(t.serverId, id, digest, 'approve');
    assert.equal((await post(id, b)).status, 200);
    await refused(b, 409, 'already_decided');
    const fresh = alice.decisionBody(t.serverId, id, digest, 'deny');
    await refused(fresh, 409, 'already_decided');
    const view = await t.api.get(`/v1/mpa/requests/${id}`);
    assert.equal(view.body.status, 'pending');
    assert.deepEqual(view.body.groups_satisfied, ['Engineering Leads']);
  });

  test('a decision resent after it ended its request is told it was recorded, and a later one that it came too late', async () => {
    const req = coldBootRequest({ engineering: [alice], security: [carol], operations: [dave] });
    const created = (await t.api.post('/v1/mpa/requests', { ...req, required: 1, action: { ...req.action, description: 'ENG-003' } })).body;
    const ending = carol.decisionBody(t.serverId, created.request_id, actionDigest(created.action), 'approve');
    const first = await post(created.request_id, ending);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal((await t.api.get(`/v1/mpa/requests/${created.request_id}`)).body.status, 'approved');
    // As a device resends it when the first answer was lost.
    await refused(ending, 409, 'already_decided', created.request_id);
    const late = await post(created.request_id, alice.decisionBody(t.serverId, created.request_id, actionDigest(created.action), 'deny'));
    assert.equal(late.status, 409);
    assert.equal(late.body.error.code, 'request_completed');
    assert.equal(late.body.error.details.status, 'approved');
  });

  test('a revoked device can no longer decide, even on a request that was open before', async () => {
    assert.equal((await t.api.delete(`/v1/devices/${dave.fingerprint}`)).status, 200);
    await refused(dave.decisionBody(t.serverId, id, digest, 'deny'), 403, 'device_revoked');
    assert.equal((await t.api.get(`/v1/mpa/requests/${id}`)).body.status, 'pending');
  });

  test('malformed decision bodies are 400s, not crashes', async () => {
    const b = carol.decisionBody(t.serverId, id, digest, 'approve');
    await refused({ ...b, extra: 1 }, 400, 'invalid_request');
    await refused({ ...b, signature: 'AAAA' }, 400, 'invalid_request');
    await refused({ payload: { ...b.payload, decision: 'maybe' }, signature: b.signature }, 400, 'invalid_request');
    await refused('{"payload":', 400, 'invalid_json');
  });
});
