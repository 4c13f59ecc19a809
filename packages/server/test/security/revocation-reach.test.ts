// A revocation reaches every instance on one PostgreSQL: the revoked device's open connections
// end, including on an instance whose notifications were lost while its listening connection was
// down, and no decision of the device is accepted once the revocation is answered.
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
import { DeviceSocket } from './helpers.js';

describePostgres('a revocation reaches every instance', () => {
  let store: TestStore;
  let a: TestServer;
  let b: TestServer;
  let receiver: Receiver;

  before(async () => {
    store = await createStore('postgres');
    receiver = await Receiver.start();
    const config = { webhooks: { allowPrivate: true } };
    a = await startTestServer(store, { config });
    b = await startTestServer(store, { apiKey: a.server.firstApiKey, config });
  });
  after(async () => {
    await b?.close();
    await a?.close();
    await receiver?.close();
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

  test('a decision that read its device before the revocation committed is answered before the revocation is', async () => {
    const device = new TestDevice("Frank's laptop");
    const other = new TestDevice("Grace's laptop");
    await pairDevice(a.api, a.serverId, device);
    await pairDevice(a.api, a.serverId, other);
    const hook = await a.api.post('/v1/webhooks', { url: receiver.url, events: ['mpa.approved'] });
    assert.equal(hook.status, 201, JSON.stringify(hook.body));
    const created = await a.api.post('/v1/mpa/requests', {
      required: 1,
      groups: [{ name: 'Approvers', approvers: [device.approver, other.approver] }],
      action: { type: 'grant_admin', description: 'Grant admin to Frank' },
      expires_in_seconds: 600,
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id: string = created.body.request_id;

    // The approving decision delivers mpa.approved to the endpoint, so it waits at the endpoint's
    // row while this holds it: its request locked, its device already read.
    const holder = new pg.Client({ connectionString: store.databaseUrl });
    await holder.connect();
    const waiting = () => lockWaiters(holder);
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM webhook_endpoints WHERE id = $1 FOR UPDATE', [hook.body.id]);
      const body = device.decisionBody(a.serverId, id, actionDigest(created.body.action), 'approve');
      const decided = a.api.withKey(null).post(`/v1/mpa/requests/${id}/decisions`, body);
      await waitFor(async () => (await waiting()) === 1, 'the decision to wait at the endpoint');

      let revocationAnswered = false;
      const revoked = b.api.request('DELETE', `/v1/devices/${device.fingerprint}`).finally(() => (revocationAnswered = true));
      await waitFor(
        async () => revocationAnswered || (await waiting()) === 2,
        'the revocation to wait for the decision, or to be answered',
      );
      assert.equal(revocationAnswered, false, 'the revocation was answered while a decision that read the device before it was in flight');
      await holder.query('COMMIT');
      assert.equal((await decided).status, 200);
      assert.equal((await revoked).status, 200);
      assert.equal((await a.api.get(`/v1/mpa/requests/${id}`)).body.status, 'approved');
    } finally {
      await holder.end();
    }
  });
});
