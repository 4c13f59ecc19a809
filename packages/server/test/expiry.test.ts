import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../../test/support/wait.js';
import { actionDigest } from '@sigilauth/protocol';
import { pairDevice, startTestServer, type TestServer } from '../../../test/support/api.js';
import { TestDevice } from '../../../test/support/device-keys.js';
import { createStore, describeEachStore, type TestStore } from '../../../test/support/stores.js';

describeEachStore('expiry', (kind) => {
  let store: TestStore;
  let t: TestServer;
  let now = Date.now();
  const clock = () => now;
  const a = new TestDevice('A');
  const b = new TestDevice('B');
  const body = {
    required: 2,
    groups: [
      { name: 'A', approvers: [a.approver] },
      { name: 'B', approvers: [b.approver] },
    ],
    action: { type: 'x', description: 'y' },
    expires_in_seconds: 60,
  };
  const storedStatus = async (id: string) =>
    (
      await t.server.db.query<{ status: string; groups_satisfied: string[]; completed_at: Date | null }>(
        'SELECT status, groups_satisfied, completed_at FROM mpa_requests WHERE id = $1',
        [id],
      )
    )[0]!;

  before(async () => {
    store = await createStore(kind);
    t = await startTestServer(store, { clock });
    for (const d of [a, b]) await pairDevice(t.api, t.serverId, d);
  });
  after(async () => {
    await t?.close();
    await store?.dispose();
  });

  test('the server ends a request at its expiry with nobody polling, keeping satisfied groups', async () => {
    // A witness created 1 ms earlier falls due 1 ms earlier: once the sweeper has ended it, the
    // sweeper has run at the last moment the request itself was still open.
    const witness = (await t.api.post('/v1/mpa/requests', body)).body;
    now += 1;
    const created = (await t.api.post('/v1/mpa/requests', body)).body;
    await t.api
      .withKey(null)
      .post(
        `/v1/mpa/requests/${created.request_id}/decisions`,
        a.decisionBody(t.serverId, created.request_id, actionDigest(created.action), 'approve', { issued_at: now }),
      );
    now += 59_999;
    await waitFor(async () => (await storedStatus(witness.request_id)).status === 'timeout', 'the sweeper to end the witness');
    assert.equal((await storedStatus(created.request_id)).status, 'pending', 'not ended 1 ms before its expiry');
    now += 1;
    const row = await waitFor(async () => {
      const r = await storedStatus(created.request_id);
      return r.status === 'timeout' ? r : undefined;
    }, 'timeout');
    assert.deepEqual(row.groups_satisfied, ['A']);
    assert.equal(row.completed_at?.toISOString(), created.expires_at);
    const events = await t.server.db.query<{ type: string; payload: { groups_satisfied: string[] } }>(
      'SELECT type, payload FROM events WHERE request_id = $1 ORDER BY created_at',
      [created.request_id],
    );
    assert.deepEqual(
      events.map((e) => e.type),
      ['mpa.created', 'mpa.timeout'],
    );
    assert.deepEqual(events[1]!.payload.groups_satisfied, ['A']);
    const late = await t.api
      .withKey(null)
      .post(
        `/v1/mpa/requests/${created.request_id}/decisions`,
        b.decisionBody(t.serverId, created.request_id, actionDigest(created.action), 'approve', { issued_at: now }),
      );
    assert.equal(late.status, 409);
    assert.equal(late.body.error.details.status, 'timeout');
  });

  test('open requests survive a restart and still expire on time', async () => {
    const created = (await t.api.post('/v1/mpa/requests', body)).body;
    await t.close();
    now += 61_000;
    t = await startTestServer(store, { clock, apiKey: t.api.apiKey });
    const view = await t.api.get(`/v1/mpa/requests/${created.request_id}`);
    assert.equal(view.status, 200);
    assert.equal(view.body.status, 'timeout');
    await waitFor(async () => (await storedStatus(created.request_id)).status === 'timeout', 'timeout recorded after restart');
  });
});
