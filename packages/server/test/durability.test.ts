import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Api, coldBootRequest, pairDevice } from '../../../test/support/api.js';
import { TestDevice } from '../../../test/support/device-keys.js';
import { startSigil, type SigilProcess } from '../../../test/support/processes.js';
import { createStore, describeEachStore, type TestStore } from '../../../test/support/stores.js';

describeEachStore('acknowledged writes survive kill -9 of the server', (kind) => {
  let store: TestStore;
  let sigil: SigilProcess | null = null;

  before(async () => {
    store = await createStore(kind);
  });
  after(async () => {
    await sigil?.stop();
    await store?.dispose();
  });

  test('requests, decisions, devices and keys are all there after a crash and restart', async () => {
    sigil = await startSigil(store);
    const key = sigil.apiKey!;
    assert.ok(key);
    let api = new Api(sigil.url, key);
    const serverId = (await api.get('/v1/info')).body.server_id;
    const devices = ['Alice', 'Carol', 'Dave'].map((n) => new TestDevice(n)) as [TestDevice, TestDevice, TestDevice];
    for (const d of devices) await pairDevice(api, serverId, d);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await api.post(
        '/v1/mpa/requests',
        coldBootRequest({ engineering: [devices[0]], security: [devices[1]], operations: [devices[2]] }),
      );
      assert.equal(res.status, 201);
      ids.push(res.body.request_id);
    }
    const created = (await api.get(`/v1/mpa/requests/${ids[0]}`)).body;
    const { actionDigest } = await import('@sigilauth/protocol');
    const decision = await api
      .withKey(null)
      .post(`/v1/mpa/requests/${ids[0]}/decisions`, devices[0].decisionBody(serverId, ids[0]!, actionDigest(created.action), 'approve'));
    assert.equal(decision.status, 200);
    const last = ids.at(-1)!;

    await sigil.kill();
    sigil = await startSigil(store);
    assert.equal(sigil.apiKey, null, 'no second first key: the store was not reinitialised');
    api = new Api(sigil.url, key);
    assert.equal((await api.get('/v1/info')).body.server_id, serverId, 'same server identity');
    for (const id of ids) assert.equal((await api.get(`/v1/mpa/requests/${id}`)).body.status, 'pending');
    assert.deepEqual((await api.get(`/v1/mpa/requests/${ids[0]}`)).body.groups_satisfied, ['Engineering Leads']);
    assert.equal((await api.get(`/v1/mpa/requests/${last}`)).status, 200);
    assert.equal((await api.get('/v1/devices')).body.data.length, 3);
  });
});
