// An endpoint deleted while a decision records its event: the decision waits for the deletion and
// then leaves the endpoint out, instead of failing on the delivery's foreign key (PostgreSQL; the
// embedded store runs one transaction at a time).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { actionDigest } from '@sigilauth/protocol';
import { pairDevice, startTestServer, type TestServer } from '../../../../test/support/api.js';
import { TestDevice } from '../../../../test/support/device-keys.js';
import { waitFor } from '../../../../test/support/wait.js';
import { Receiver } from '../../../../test/support/webhook-receiver.js';
import { lockWaiters } from '../../../../test/support/postgres.js';
import { createStore, describePostgres, type TestStore } from '../../../../test/support/stores.js';

describePostgres('a webhook endpoint deleted while a decision records its event', () => {
  let store: TestStore;
  let t: TestServer;
  let kept: Receiver;
  let deleted: Receiver;
  before(async () => {
    store = await createStore('postgres');
    [kept, deleted] = [await Receiver.start(), await Receiver.start()];
    t = await startTestServer(store, { config: { webhooks: { allowPrivate: true } } });
  });
  after(async () => {
    await t?.close();
    await kept?.close();
    await deleted?.close();
    await store?.dispose();
  });

  test('the decision is accepted, and its event reaches the endpoints that remain', async () => {
    const device = new TestDevice("Ivan's laptop");
    await pairDevice(t.api, t.serverId, device);
    const endpoints = [];
    for (const receiver of [kept, deleted]) {
      const created = await t.api.post('/v1/webhooks', { url: receiver.url, events: ['mpa.approved'] });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      endpoints.push(created.body.id as string);
    }
    const request = await t.api.post('/v1/mpa/requests', {
      required: 1,
      groups: [{ name: 'Approvers', approvers: [device.approver] }],
      action: { type: 'grant_admin', description: 'Grant admin to Ivan' },
      expires_in_seconds: 600,
    });
    assert.equal(request.status, 201, JSON.stringify(request.body));
    const id: string = request.body.request_id;

    const deleting = new pg.Client({ connectionString: store.databaseUrl });
    await deleting.connect();
    try {
      await deleting.query('BEGIN');
      await deleting.query('DELETE FROM webhook_endpoints WHERE id = $1', [endpoints[1]]);
      const decided = t.api
        .withKey(null)
        .post(`/v1/mpa/requests/${id}/decisions`, device.decisionBody(t.serverId, id, actionDigest(request.body.action), 'approve'));
      await waitFor(async () => (await lockWaiters(deleting)) === 1, 'the decision to wait for the endpoint being deleted');
      await deleting.query('COMMIT');
      const answer = await decided;
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal((await t.api.get(`/v1/mpa/requests/${id}`)).body.status, 'approved');
      await waitFor(() => kept.received.some((r) => (JSON.parse(r.body) as { request_id?: string }).request_id === id), 'mpa.approved');
      assert.equal(deleted.received.length, 0);
    } finally {
      await deleting.end();
    }
  });
});
