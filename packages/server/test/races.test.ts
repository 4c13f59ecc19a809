import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { actionDigest } from '@sigilauth/protocol';
import { pairDevice, startTestServer, type TestServer } from '../../../test/support/api.js';
import { TestDevice } from '../../../test/support/device-keys.js';
import { createStore, describeEachStore, type TestStore } from '../../../test/support/stores.js';

const GROUPS = 6;
const PER_GROUP = 3;

describeEachStore('concurrent decisions', (kind) => {
  let store: TestStore;
  let t: TestServer;
  const devices = Array.from({ length: GROUPS * PER_GROUP }, (_, i) => new TestDevice(`d${i}`));
  const groups = Array.from({ length: GROUPS }, (_, g) => ({
    name: `Group ${g}`,
    approvers: devices.slice(g * PER_GROUP, (g + 1) * PER_GROUP).map((d) => d.approver),
  }));

  before(async () => {
    store = await createStore(kind);
    t = await startTestServer(store);
    for (const d of devices) await pairDevice(t.api, t.serverId, d);
  });
  after(async () => {
    await t?.close();
    await store?.dispose();
  });

  test('approvals racing a denial: one terminal state, every response answered, nothing double-counted', async () => {
    const outcomes = new Map<string, number>();
    for (let round = 0; round < 8; round++) {
      const created = (await t.api.post('/v1/mpa/requests', { required: 4, groups, action: { type: 'race', description: `round ${round}` } })).body;
      const digest = actionDigest(created.action);
      const denier = devices[(round * 5) % devices.length]!;
      const responses = await Promise.all(
        devices.map((d) =>
          t.api.withKey(null).post(`/v1/mpa/requests/${created.request_id}/decisions`, d.decisionBody(t.serverId, created.request_id, digest, d === denier ? 'deny' : 'approve')),
        ),
      );
      for (const r of responses) {
        assert.ok(r.status === 200 || (r.status === 409 && r.body.error.code === 'request_completed'), JSON.stringify(r.body));
      }
      const final = (await t.api.get(`/v1/mpa/requests/${created.request_id}`)).body;
      assert.ok(final.status === 'approved' || final.status === 'rejected');
      outcomes.set(final.status, (outcomes.get(final.status) ?? 0) + 1);
      const denial = responses[devices.indexOf(denier)]!;
      assert.equal(denial.status === 200, final.status === 'rejected', 'the denial counted if and only if the request was rejected');
      assert.equal(new Set(final.groups_satisfied).size, final.groups_satisfied.length);
      if (final.status === 'approved') assert.equal(final.groups_satisfied.length, 4);

      const recorded = await t.server.db.query<{ n: number }>('SELECT count(*)::int AS n FROM mpa_decisions WHERE request_id = $1', [created.request_id]);
      assert.equal(recorded[0]!.n, responses.filter((r) => r.status === 200).length, 'every accepted response was recorded, no other');
      const terminal = await t.server.db.query<{ type: string }>(
        `SELECT type FROM events WHERE request_id = $1 AND type <> 'mpa.created'`,
        [created.request_id],
      );
      assert.deepEqual(terminal.map((e) => e.type), [`mpa.${final.status}`], 'exactly one terminal event');
    }
    assert.equal([...outcomes.values()].reduce((a, b) => a + b), 8);
  });

  test('the same decision sent many times at once is recorded once', async () => {
    const created = (await t.api.post('/v1/mpa/requests', { required: 2, groups, action: { type: 'dup', description: 'dup' } })).body;
    const body = devices[0]!.decisionBody(t.serverId, created.request_id, actionDigest(created.action), 'approve');
    const responses = await Promise.all(Array.from({ length: 20 }, () => t.api.withKey(null).post(`/v1/mpa/requests/${created.request_id}/decisions`, body)));
    assert.equal(responses.filter((r) => r.status === 200).length, 1);
    assert.ok(responses.every((r) => r.status === 200 || r.body.error.code === 'already_decided'));
    const final = (await t.api.get(`/v1/mpa/requests/${created.request_id}`)).body;
    assert.deepEqual(final.groups_satisfied, ['Group 0']);
  });
});
