// Attack: use an sgk_test_ key (handed to CI, a staging box, a contractor) to act on live data:
// read, cancel or get webhooks about live requests, list or revoke live devices, read the live
// audit log. Defence: test mode is a sandbox twin of the organisation; a test key sees and makes
// only test-mode objects, a live key never sees them, and a device of one mode cannot decide in
// the other. Both directions are checked here, against a real server.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { actionDigest } from '@sigilauth/protocol';
import { createApiKey } from '../../src/tenants/api-keys.js';
import { type Api, pairDevice, startTestServer, type TestServer } from '../../../../test/support/api.js';
import { TestDevice } from '../../../../test/support/device-keys.js';
import { createStore, describeEachStore, type TestStore } from '../../../../test/support/stores.js';
import { waitFor } from '../../../../test/support/wait.js';
import { Receiver } from '../../../../test/support/webhook-receiver.js';

interface Side {
  name: 'live' | 'test';
  api: Api;
  device: TestDevice;
  receiver: Receiver;
  webhookId: string;
  pairingId: string;
  requestId: string;
  cancelledId: string;
  digest: string;
}

describeEachStore('test mode is separate from live mode', (kind) => {
  let store: TestStore;
  let t: TestServer;
  let live: Side;
  let sandbox: Side;

  const oneApprover = (device: TestDevice, description: string) => ({
    required: 1,
    groups: [{ name: 'Ops', approvers: [device.approver] }],
    action: { type: 'deploy', description, params: { build: 42 } },
    expires_in_seconds: 900,
  });

  const setUp = async (name: 'live' | 'test', api: Api): Promise<Side> => {
    const receiver = await Receiver.start();
    const webhook = await api.post('/v1/webhooks', { url: receiver.url, description: name });
    assert.equal(webhook.status, 201, JSON.stringify(webhook.body));
    const device = new TestDevice(`${name} phone`);
    await pairDevice(api, t.serverId, device);
    const pairingId = (await api.post('/v1/pairings', { name: `${name} spare` })).body.pairing_id;
    const request = await api.post('/v1/mpa/requests', oneApprover(device, `${name}: deploy build 42`));
    assert.equal(request.status, 201, JSON.stringify(request.body));
    const cancelled = await api.post('/v1/mpa/requests', oneApprover(device, `${name}: to be cancelled`));
    assert.equal((await api.post(`/v1/mpa/requests/${cancelled.body.request_id}/cancel`)).status, 200);
    return {
      name,
      api,
      device,
      receiver,
      webhookId: webhook.body.id,
      pairingId,
      requestId: request.body.request_id,
      cancelledId: cancelled.body.request_id,
      digest: actionDigest(request.body.action),
    };
  };

  before(async () => {
    store = await createStore(kind);
    t = await startTestServer(store, { config: { webhooks: { allowPrivate: true }, audit: { intervalMs: 100, signIntervalMs: 0 } } });
    const [tenant] = await t.server.db.query<{ id: string }>('SELECT id FROM tenants ORDER BY created_at, id LIMIT 1');
    const testKey = (await createApiKey(t.server.db, tenant!.id, 'ci', 'test')).key;
    assert.match(testKey, /^sgk_test_/);
    live = await setUp('live', t.api);
    sandbox = await setUp('test', t.api.withKey(testKey));
  });
  after(async () => {
    await t?.close();
    for (const side of [live, sandbox]) await side?.receiver.close();
    await store?.dispose();
  });

  for (const [me, otherSide] of [
    ['test', 'live'],
    ['live', 'test'],
  ] as const) {
    const sides = () => (me === 'test' ? { mine: sandbox, other: live } : { mine: live, other: sandbox });

    test(`a ${me} key cannot read, list, cancel or name ${otherSide} requests`, async () => {
      const { mine, other } = sides();
      assert.equal((await mine.api.get(`/v1/mpa/requests/${other.requestId}`)).status, 404);
      assert.equal((await mine.api.post(`/v1/mpa/requests/${other.requestId}/cancel`)).status, 404);
      assert.equal((await other.api.get(`/v1/mpa/requests/${other.requestId}`)).body.status, 'pending', 'still pending');
      const listed = (await mine.api.get('/v1/mpa/requests?limit=100')).body.data.map((r: { request_id: string }) => r.request_id);
      assert.ok(listed.includes(mine.requestId), 'its own requests are listed');
      assert.ok(!listed.includes(other.requestId) && !listed.includes(other.cancelledId), `a ${otherSide} request is listed`);
      const naming = await mine.api.post('/v1/mpa/requests', oneApprover(other.device, 'borrow an approver'));
      assert.equal(naming.status, 400, `a ${me} request cannot name a ${otherSide} device`);
      assert.match(naming.body.error.message, /not paired with this organisation/);
    });

    test(`a ${me} key cannot see or revoke ${otherSide} devices and pairings`, async () => {
      const { mine, other } = sides();
      const devices = (await mine.api.get('/v1/devices')).body.data.map((d: { fingerprint: string }) => d.fingerprint);
      assert.deepEqual(devices, [mine.device.fingerprint]);
      assert.equal((await mine.api.delete(`/v1/devices/${other.device.fingerprint}`)).status, 404);
      assert.equal((await other.api.get('/v1/devices')).body.data[0].status, 'active', 'still active');
      assert.equal((await mine.api.get(`/v1/pairings/${other.pairingId}`)).status, 404);
    });

    test(`a ${me} device cannot decide a ${otherSide} request`, async () => {
      const { mine, other } = sides();
      const res = await t.api
        .withKey(null)
        .post(
          `/v1/mpa/requests/${other.requestId}/decisions`,
          mine.device.decisionBody(t.serverId, other.requestId, other.digest, 'approve'),
        );
      assert.equal(res.status, 403);
      assert.equal(res.body.error.code, 'not_an_approver');
      assert.equal((await other.api.get(`/v1/mpa/requests/${other.requestId}`)).body.status, 'pending', 'still pending');
    });

    test(`a ${me} key cannot see or change ${otherSide} webhooks, and its endpoint gets no ${otherSide} events`, async () => {
      const { mine, other } = sides();
      assert.deepEqual(
        (await mine.api.get('/v1/webhooks')).body.data.map((w: { id: string }) => w.id),
        [mine.webhookId],
      );
      assert.equal((await mine.api.get(`/v1/webhooks/${other.webhookId}`)).status, 404);
      assert.equal((await mine.api.request('PATCH', `/v1/webhooks/${other.webhookId}`, { enabled: false })).status, 404);
      assert.equal((await mine.api.post(`/v1/webhooks/${other.webhookId}/rotate-secret`)).status, 404);
      assert.equal((await mine.api.get(`/v1/webhooks/${other.webhookId}/deliveries`)).status, 404);
      const otherDelivery = (await other.api.get(`/v1/webhooks/${other.webhookId}/deliveries`)).body.data[0];
      assert.ok(otherDelivery, `the ${otherSide} endpoint has deliveries`);
      assert.equal((await mine.api.get(`/v1/webhooks/deliveries/${otherDelivery.id}`)).status, 404);
      assert.equal((await mine.api.post(`/v1/webhooks/deliveries/${otherDelivery.id}/retry`)).status, 404);

      // Deliveries are created with the event, in its transaction: this endpoint's list is complete.
      const requestIds = new Set(
        (await mine.api.get(`/v1/webhooks/${mine.webhookId}/deliveries?limit=100`)).body.data.map(
          (d: { request_id: string | null }) => d.request_id,
        ),
      );
      assert.ok(requestIds.has(mine.requestId) && requestIds.has(mine.cancelledId));
      assert.ok(
        !requestIds.has(other.requestId) && !requestIds.has(other.cancelledId),
        `a ${otherSide} event was queued for the ${me} endpoint`,
      );
      // And what actually arrived: this side's last event (the cancellation), and nothing of the other side.
      await waitFor(
        () => mine.receiver.received.some((r) => r.body.includes(`"mpa.cancelled"`) && r.body.includes(mine.cancelledId)),
        `the ${me} endpoint to receive its cancellation`,
      );
      const bodies = mine.receiver.received.map((r) => r.body).join('\n');
      assert.ok(
        !bodies.includes(other.requestId) && !bodies.includes(other.cancelledId) && !bodies.includes(other.device.fingerprint),
        `the ${me} endpoint received a ${otherSide} event`,
      );
    });

    test(`a ${me} key reads only the ${me} audit log`, async () => {
      const { mine, other } = sides();
      const entries = (await mine.api.get('/v1/audit?limit=1000')).body.data as Array<{ request_id: string | null; data: unknown }>;
      assert.ok(
        entries.some((e) => e.request_id === mine.requestId),
        'its own requests are in its log',
      );
      const text = JSON.stringify(entries);
      assert.ok(!text.includes(other.requestId) && !text.includes(other.device.fingerprint), `the ${me} log shows ${otherSide} objects`);
      assert.equal((await mine.api.get(`/v1/audit?request_id=${other.requestId}`)).body.data.length, 0);
      const [mineHead, otherHead] = await Promise.all([mine.api.get('/v1/audit/tree-head'), other.api.get('/v1/audit/tree-head')]);
      assert.notEqual(mineHead.body.payload.tenant_id, otherHead.body.payload.tenant_id, 'each mode has its own signed log');
    });
  }

  test('a test key is told apart: devices show the test mode, and test keys never act on the live organisation', async () => {
    const view = await sandbox.api.get('/v1/info');
    assert.match(view.body.org_name, /\(test mode\)$/);
    assert.doesNotMatch((await live.api.get('/v1/info')).body.org_name, /test mode/);
    // A test key pointed at the live organisation in storage (as before test mode existed) is refused.
    const [row] = await t.server.db.query<{ id: string; live: string }>(
      `SELECT k.id, t.live_tenant_id AS live FROM api_keys k JOIN tenants t ON t.id = k.tenant_id WHERE k.mode = 'test'`,
    );
    await t.server.db.query('UPDATE api_keys SET tenant_id = $2 WHERE id = $1', [row!.id, row!.live]);
    try {
      assert.equal((await sandbox.api.get('/v1/devices')).status, 401);
    } finally {
      await t.server.db.query('UPDATE api_keys SET tenant_id = (SELECT id FROM tenants WHERE live_tenant_id = $2) WHERE id = $1', [
        row!.id,
        row!.live,
      ]);
    }
    assert.equal((await sandbox.api.get('/v1/devices')).status, 200);
  });
});
