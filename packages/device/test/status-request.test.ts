// The device WebSocket's `status` request against a real server: the signed current view of
// requests naming the device, finished ones included, and nothing about any other request.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { actionDigest } from '@sigilauth/protocol';
import type { DeviceRequestView } from '@sigilauth/protocol/wire';
import { pairDevice, startTestServer, type TestServer } from '../../../test/support/api.js';
import { TestDevice } from '../../../test/support/device-keys.js';
import { createStore, type TestStore } from '../../../test/support/stores.js';
import { waitFor } from '../../../test/support/wait.js';
import { DeviceSession } from '../src/index.js';
import type { PairedServer } from '../src/keystore.js';

let store: TestStore;
let t: TestServer;
const [me, other] = [new TestDevice('Me'), new TestDevice('Other')];

before(async () => {
  store = await createStore('pglite');
  t = await startTestServer(store);
  for (const dev of [me, other]) await pairDevice(t.api, t.serverId, dev);
});
after(async () => {
  await t?.close();
  await store?.dispose();
});

async function create(approvers: TestDevice[]) {
  const res = await t.api.post('/v1/mpa/requests', {
    required: 1,
    groups: [{ name: 'ops', approvers: approvers.map((d) => d.approver) }],
    action: { type: 'deploy', description: 'status request' },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body as { request_id: string; action: never };
}

test('a status request is answered with signed views of finished requests naming the device, and only those', async () => {
  const approved = await create([me, other]);
  const decided = await t.api
    .withKey(null)
    .post(
      `/v1/mpa/requests/${approved.request_id}/decisions`,
      other.decisionBody(t.serverId, approved.request_id, actionDigest(approved.action), 'approve'),
    );
  assert.equal(decided.status, 200, JSON.stringify(decided.body));
  const notMine = await create([other]);

  const info = (await t.api.get('/v1/info')).body;
  const server: PairedServer = {
    url: t.server.url,
    server_id: info.server_id,
    server_public_key: info.server_public_key,
    org_name: info.org_name,
    tenant_id: '',
    device_name: me.name,
    pairing_id: '',
    paired_at: new Date().toISOString(),
  };
  const received: DeviceRequestView[] = [];
  let synced = false;
  const session = new DeviceSession({
    server,
    key: { privateKey: me.privateKey, publicKey: me.publicKey, fingerprint: me.fingerprint, path: '', created: false },
    reconnect: false,
    onSync: () => (synced = true),
    onRequest: (view) => received.push(view),
  });
  assert.equal(session.requestStatus([approved.request_id]), false, 'not connected yet: nothing sent');
  session.start();
  try {
    await waitFor(() => synced, 'the sync');
    assert.equal(session.requestStatus([notMine.request_id, approved.request_id]), true);
    await waitFor(() => received.some((v) => v.request_id === approved.request_id), 'the approved request');
    const view = received.find((v) => v.request_id === approved.request_id)!;
    assert.equal(view.status, 'approved');
    assert.equal(view.my_decision, null);
    // Ask once more for the other's request alone, then for ours: the answers come in order, so
    // when ours arrives again, an answer about the other's would have arrived before it.
    session.requestStatus([notMine.request_id]);
    session.requestStatus([approved.request_id]);
    await waitFor(() => received.filter((v) => v.request_id === approved.request_id).length === 2, 'the second answer');
    assert.ok(!received.some((v) => v.request_id === notMine.request_id), 'nothing about a request that does not name the device');
  } finally {
    await session.close();
  }
});
