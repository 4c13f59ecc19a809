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

  test('approvals racing a denial: both outcomes happen, and the first decision to commit wins', async () => {
    const outcomes = new Map<string, number>();
    const REQUIRED = 4;
    // The denial is launched at a different point among the approvals each round, so that over
    // the rounds it both wins and loses; rounds go on (bounded) until each outcome has happened.
    for (let round = 0; round < 40 && !(outcomes.has('approved') && outcomes.has('rejected')); round++) {
      const created = (
        await t.api.post('/v1/mpa/requests', { required: REQUIRED, groups, action: { type: 'race', description: `round ${round}` } })
      ).body;
      const digest = actionDigest(created.action);
      const denier = devices[(round * 5) % devices.length]!;
      const approvers = devices.filter((d) => d !== denier);
      const order = [...approvers];
      order.splice((round * 7) % (approvers.length + 1), 0, denier);
      const responses = new Map(
        await Promise.all(
          order.map(async (d) => {
            const body = d.decisionBody(t.serverId, created.request_id, digest, d === denier ? 'deny' : 'approve');
            return [d, await t.api.withKey(null).post(`/v1/mpa/requests/${created.request_id}/decisions`, body)] as const;
          }),
        ),
      );
      for (const r of responses.values()) {
        assert.ok(r.status === 200 || (r.status === 409 && r.body.error.code === 'request_completed'), JSON.stringify(r.body));
      }
      const final = (await t.api.get(`/v1/mpa/requests/${created.request_id}`)).body;
      assert.ok(final.status === 'approved' || final.status === 'rejected', final.status);
      outcomes.set(final.status, (outcomes.get(final.status) ?? 0) + 1);
      assert.equal(
        responses.get(denier)!.status === 200,
        final.status === 'rejected',
        'the denial counted if and only if the request was rejected',
      );

      // Replay the recorded decisions in the order they committed: the first that ends the
      // request decides it, and nothing is recorded after it.
      const recorded = await t.server.db.query<{ fingerprint: string; decision: string; group_index: number }>(
        'SELECT fingerprint, decision, group_index FROM mpa_decisions WHERE request_id = $1 ORDER BY seq',
        [created.request_id],
      );
      assert.equal(
        recorded.length,
        [...responses.values()].filter((r) => r.status === 200).length,
        'every accepted response was recorded, no other',
      );
      const satisfied: string[] = [];
      let ended: { at: number; status: string } | null = null;
      for (const [i, d] of recorded.entries()) {
        if (d.decision === 'deny') {
          ended = { at: i, status: 'rejected' };
          break;
        }
        const group = groups[d.group_index]!.name;
        if (!satisfied.includes(group)) satisfied.push(group);
        if (satisfied.length === REQUIRED) {
          ended = { at: i, status: 'approved' };
          break;
        }
      }
      assert.ok(ended, 'the recorded decisions end the request');
      assert.equal(ended.at, recorded.length - 1, 'no decision was recorded after the one that ended the request');
      assert.equal(final.status, ended.status, 'the outcome is that of the first decision to commit that ends it');
      assert.deepEqual(final.groups_satisfied, satisfied, 'the groups satisfied, in the order their approvals committed');

      const terminal = await t.server.db.query<{ type: string }>(
        `SELECT type FROM events WHERE request_id = $1 AND type <> 'mpa.created'`,
        [created.request_id],
      );
      assert.deepEqual(
        terminal.map((e) => e.type),
        [`mpa.${final.status}`],
        'exactly one terminal event',
      );
    }
    assert.ok(
      (outcomes.get('approved') ?? 0) > 0 && (outcomes.get('rejected') ?? 0) > 0,
      `outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}`,
    );
  });

  test('the same decision sent many times at once is recorded once', async () => {
    const created = (await t.api.post('/v1/mpa/requests', { required: 2, groups, action: { type: 'dup', description: 'dup' } })).body;
    const body = devices[0]!.decisionBody(t.serverId, created.request_id, actionDigest(created.action), 'approve');
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => t.api.withKey(null).post(`/v1/mpa/requests/${created.request_id}/decisions`, body)),
    );
    assert.equal(responses.filter((r) => r.status === 200).length, 1);
    assert.ok(responses.every((r) => r.status === 200 || r.body.error.code === 'already_decided'));
    const final = (await t.api.get(`/v1/mpa/requests/${created.request_id}`)).body;
    assert.deepEqual(final.groups_satisfied, ['Group 0']);
  });
});
