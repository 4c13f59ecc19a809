// A revoked device's open connections end on every instance on one PostgreSQL, including one
// whose notifications were lost while its listening connection was down.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { pairDevice, startTestServer, type TestServer } from '../../../../test/support/api.js';
import { TestDevice } from '../../../../test/support/device-keys.js';
import { waitFor } from '../../../../test/support/wait.js';
import { createStore, describePostgres, type TestStore } from '../../../../test/support/stores.js';
import { DeviceSocket } from './helpers.js';

describePostgres('a revocation reaches every instance', () => {
  let store: TestStore;
  let a: TestServer;
  let b: TestServer;

  before(async () => {
    store = await createStore('postgres');
    a = await startTestServer(store);
    b = await startTestServer(store, { apiKey: a.server.firstApiKey });
  });
  after(async () => {
    await b?.close();
    await a?.close();
    await store?.dispose();
  });

  const refused = async (socket: DeviceSocket) => {
    const refusal = await socket.waitFor((f) => f.payload.type === 'error', 'the refusal');
    assert.equal(refusal.payload.code, 'device_revoked');
    assert.equal(await socket.closed, 4003);
  };

  test("revoking on one instance ends the device's socket on the other", async () => {
    const device = new TestDevice("Bob's laptop");
    await pairDevice(a.api, a.serverId, device);
    const socket = await DeviceSocket.open(b.server.url, b.serverId, device);
    try {
      assert.equal((await a.api.request('DELETE', `/v1/devices/${device.fingerprint}`)).status, 200);
      await refused(socket);
    } finally {
      await socket.close();
    }
  });

  test('an instance whose notifications were lost ends the sockets of devices revoked meanwhile when it reconnects', async () => {
    const revoked = new TestDevice("Carol's laptop");
    const kept = new TestDevice("Dave's laptop");
    await pairDevice(a.api, a.serverId, revoked);
    await pairDevice(a.api, a.serverId, kept);
    const revokedSocket = await DeviceSocket.open(b.server.url, b.serverId, revoked);
    const keptSocket = await DeviceSocket.open(b.server.url, b.serverId, kept);
    try {
      const syncs = () => keptSocket.frames.filter((f) => f.payload.type === 'sync').length;
      const syncsBefore = syncs();
      // Revoked with no notification at all, as if it was sent while the listening connections were down.
      await a.server.db.query('UPDATE devices SET revoked_at = now() WHERE fingerprint = $1', [revoked.fingerprint]);
      const listeners = await a.server.db.query<{ ended: boolean }>(
        `SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity
          WHERE datname = current_database() AND query LIKE 'LISTEN %' AND pid <> pg_backend_pid()`,
      );
      assert.ok(listeners.length >= 2 && listeners.every((l) => l.ended), `ended ${listeners.length} listening connections`);
      await refused(revokedSocket);
      // The device still paired is synced again instead, and stays connected.
      await waitFor(() => syncs() > syncsBefore, 'the kept device to be synced again');
      assert.equal(keptSocket.frames.filter((f) => f.payload.type === 'error').length, 0);
    } finally {
      await revokedSocket.close();
      await keptSocket.close();
    }
  });
});
