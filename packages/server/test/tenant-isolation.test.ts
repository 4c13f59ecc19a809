// Organisations on one server: none can read or retry another's webhook deliveries, get audit
// proofs about another's log, or learn of another's request through a device's sync cursor.
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type Api } from '../../../test/support/api.js';
import { TestDevice } from '../../../test/support/device-keys.js';
import { createStore, describeEachStore, type TestStore } from '../../../test/support/stores.js';
import { createApiKey } from '../src/tenants/api-keys.js';
import { createTenant } from '../src/tenants/tenants.js';
import { DeviceSocket } from './security/helpers.js';
import { createAndApprove, pairDevice, Receiver, startWebhookServer, waitFor, type TestServer } from './webhooks/harness.js';

describeEachStore('tenant isolation', (kind) => {
  let store: TestStore;
  let t: TestServer;
  let other: Api;
  let otherTenant: string;
  let rx: Receiver;
  let delivery: { id: string; event_id: string; attempt_count: number; status: string };
  const device = new TestDevice('Ours');

  before(async () => {
    store = await createStore(kind);
    t = await startWebhookServer(store);
    otherTenant = (await createTenant(t.server.db, 'Other Org')).id;
    other = t.api.withKey((await createApiKey(t.server.db, otherTenant, 'other', 'live')).key);
    rx = await Receiver.start();
    const endpoint = (await t.api.post('/v1/webhooks', { url: rx.url, events: ['mpa.approved'] })).body;
    await pairDevice(t.api, t.serverId, device);
    await createAndApprove(t.api, t.serverId, device);
    [delivery] = await waitFor(async () => {
      const data = (await t.api.get(`/v1/webhooks/${endpoint.id}/deliveries`)).body.data;
      return data.length === 1 && data[0].status === 'succeeded' ? data : null;
    }, 'the delivery to succeed');
  });
  after(async () => {
    await t?.close();
    await rx?.close();
    await store?.dispose();
  });

  test('another organisation can neither see nor retry a delivery; the owner can', async () => {
    const seen = await other.get(`/v1/webhooks/deliveries/${delivery.id}`);
    assert.equal(seen.status, 404);
    assert.equal(seen.body.error.code, 'not_found');
    const retried = await other.post(`/v1/webhooks/deliveries/${delivery.id}/retry`);
    assert.equal(retried.status, 404);
    assert.equal(retried.body.error.code, 'not_found');

    const ours = await t.api.get(`/v1/webhooks/deliveries/${delivery.id}`);
    assert.equal(ours.status, 200);
    assert.equal(ours.body.status, 'succeeded');
    assert.equal(ours.body.attempt_count, delivery.attempt_count, 'the refused retry changed nothing');
    assert.equal(rx.received.length, 1, 'and sent nothing');
    for (const api of [t.api, other]) {
      assert.deepEqual((await api.get('/v1/audit?type=webhook.delivery_retried')).body.data, [], 'and audited nothing');
    }
    assert.equal((await t.api.post(`/v1/webhooks/deliveries/${delivery.id}/retry`)).status, 202, 'the owner may retry it');
  });

  test("a device's sync cursor naming another organisation's request pages as an unknown cursor does", async () => {
    const third = t.api.withKey((await createApiKey(t.server.db, (await createTenant(t.server.db, 'Third Org')).id, 'third', 'live')).key);
    const theirs = new TestDevice('Theirs');
    await pairDevice(third, t.serverId, theirs);
    const request = (d: TestDevice, description: string) => ({
      required: 1,
      groups: [{ name: 'G', approvers: [d.approver] }],
      action: { type: 'test', description },
    });
    const older = (await third.post('/v1/mpa/requests', request(theirs, 'theirs, older'))).body.request_id;
    const ours = (await t.api.post('/v1/mpa/requests', request(device, 'ours'))).body.request_id;
    const newer = (await third.post('/v1/mpa/requests', request(theirs, 'theirs, newer'))).body.request_id;
    const socket = await DeviceSocket.open(t.server.url, t.serverId, theirs);
    try {
      await socket.waitFor((f) => f.payload.type === 'sync' && f.payload.cursor === null, 'the first page of the sync');
      const page = async (cursor: string) => {
        socket.send({ type: 'sync', cursor });
        const frame = await socket.waitFor((f) => f.payload.type === 'sync' && f.payload.cursor === cursor, `the page after ${cursor}`);
        return (frame.payload.requests as Array<{ request_id: string }>).map((r) => r.request_id);
      };
      assert.deepEqual(await page(newer), [older], 'a cursor of its own organisation pages on');
      assert.deepEqual(await page(ours), [], "another organisation's request orders nothing");
      assert.deepEqual(await page(randomUUID()), [], 'as an unknown cursor');
    } finally {
      await socket.close();
    }
  });

  test("audit proofs cover only the caller's own log", async () => {
    const ours = (await t.api.get('/v1/audit/tree-head')).body.payload;
    const theirs = (await other.get('/v1/audit/tree-head')).body.payload;
    assert.equal(theirs.tenant_id, otherTenant);
    assert.equal(theirs.tree_size, 1, 'only its own API key');
    assert.ok(ours.tree_size > 2);

    // Our leaf indexes and sizes do not exist in their log.
    for (const path of [
      `/v1/audit/proof/inclusion?index=1&size=${ours.tree_size}`,
      `/v1/audit/proof/inclusion?index=1`,
      `/v1/audit/proof/consistency?from=1&to=${ours.tree_size}`,
    ]) {
      const res = await other.get(path);
      assert.equal(res.status, 400, `${path}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, 'invalid_request');
    }
    // Leaf 0 exists in both logs: each caller gets its own.
    const mine = (await t.api.get('/v1/audit/proof/inclusion?index=0')).body;
    const their = (await other.get('/v1/audit/proof/inclusion?index=0')).body;
    assert.notEqual(their.leaf_hash, mine.leaf_hash);
    assert.equal(their.entry.tenant_id, otherTenant);
    assert.equal(their.tree_head.payload.tenant_id, otherTenant);
    assert.equal(their.root_hash, theirs.root_hash);
    assert.deepEqual(their.audit_path, []);
    const consistency = (await other.get('/v1/audit/proof/consistency?from=1')).body;
    assert.equal(consistency.to, 1);
    assert.equal(consistency.to_root, theirs.root_hash);
    assert.equal(consistency.to_tree_head.payload.tenant_id, otherTenant);
  });
});
