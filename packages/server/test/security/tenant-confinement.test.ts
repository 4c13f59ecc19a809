import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { actionDigest } from '@sigilauth/protocol';
import { type Api, pairDevice, startTestServer, type TestServer } from '../../../../test/support/api.js';
import { TestDevice } from '../../../../test/support/device-keys.js';
import { createStore, describeEachStore, type TestStore } from '../../../../test/support/stores.js';
import { waitFor } from '../../../../test/support/wait.js';
import { pairPasskey, SoftwarePasskey } from '../../../../test/support/webauthn.js';
import { RequestFanout, type Channel } from '../../src/fanout/request-fanout.js';
import { approverViews, deviceViews, pendingViewsPage } from '../../src/mpa/request-queries.js';
import { createApiKey } from '../../src/tenants/api-keys.js';
import { createTenant } from '../../src/tenants/tenants.js';
import { DeviceSocket, EventStream } from './helpers.js';

const request = (description: string, approvers: Array<{ fingerprint: string; device_public_key: string }>) => ({
  required: 1,
  groups: [{ name: 'Approvers', approvers }],
  action: { type: 'wire_transfer', description },
  expires_in_seconds: 600,
});

/**
 * Every approver session, socket and device read is confined to its own organisation. The
 * attacker is another organisation on the same server: it knows the victim's device key and
 * tries to become that device (to read the victim's requests and to push its own to it), and
 * uses its own devices' sessions to read across.
 */
describeEachStore('sessions, sockets and device reads stay inside their organisation', (kind) => {
  let store: TestStore;
  let t: TestServer;
  let origin: string;
  let mallory: Api;
  let malloryTenant: string;
  let acmeTenant: string;
  const victim = new TestDevice("Alice's laptop");
  const malloryDevice = new TestDevice("Mallory's laptop");
  const malloryPhone = { authenticator: null as SoftwarePasskey | null, cookie: '' };

  before(async () => {
    store = await createStore(kind);
    t = await startTestServer(store);
    acmeTenant = (await t.server.db.query<{ id: string }>("SELECT id FROM tenants WHERE name = 'Acme Corp'"))[0]!.id;
    origin = t.server.publicOrigin!;
    const tenant = await createTenant(t.server.db, 'Mallory Ltd');
    malloryTenant = tenant.id;
    mallory = t.api.withKey((await createApiKey(t.server.db, tenant.id, 'mallory', 'live')).key);
    await pairDevice(t.api, t.serverId, victim);
    await pairDevice(mallory, t.serverId, malloryDevice);
    malloryPhone.authenticator = SoftwarePasskey.create(origin);
    const paired = await pairPasskey(mallory, (await mallory.post('/v1/pairings', {})).body.code, malloryPhone.authenticator, {
      name: "Mallory's phone",
    });
    assert.equal(paired.complete?.status, 200, JSON.stringify(paired.complete?.body));
    malloryPhone.cookie = paired.cookie!;
  });
  after(async () => {
    await t?.close();
    await store?.dispose();
  });

  test("an organisation that claims another's device key gets no session, reads none of its requests and pushes none of its own to it", async () => {
    const secret = (await t.api.post('/v1/mpa/requests', request('Wire $2,000,000 to the usual supplier', [victim.approver]))).body;
    const victimSocket = await DeviceSocket.open(t.server.url, t.serverId, victim);
    const mallorySse = await EventStream.open(t.server.url, malloryPhone.cookie);
    try {
      const sync = await victimSocket.waitFor((f) => f.payload.type === 'sync', 'the sync');
      assert.deepEqual(
        (sync.payload.requests as Array<{ request_id: string }>).map((r) => r.request_id),
        [secret.request_id],
      );

      // 1. Become the victim's device: a passkey pairing of its public key with Mallory's own code.
      const impostor = SoftwarePasskey.claiming(origin, victim.publicKey);
      for (const proof of ['omit', 'sign'] as const) {
        const { complete, cookie } = await pairPasskey(mallory, (await mallory.post('/v1/pairings', {})).body.code, impostor, { proof });
        assert.notEqual(complete!.status, 200, JSON.stringify(complete!.body));
        assert.equal(cookie, null, 'no session as the victim device');
      }
      // 2. Name the victim's device in Mallory's own requests, to push them to it.
      const pushed = await mallory.post('/v1/mpa/requests', request('Approve the new supplier account', [victim.approver]));
      assert.equal(pushed.status, 400);
      assert.match(pushed.body.error.message, /not paired with this organisation/);

      // 3. Read across with Mallory's own sessions and devices.
      const anon = t.api.withKey(null);
      const list = await anon.request('GET', '/approve/api/requests', undefined, { cookie: malloryPhone.cookie });
      assert.equal(list.status, 200);
      assert.deepEqual(list.body.requests, []);
      assert.equal(
        (await anon.request('GET', `/approve/api/requests/${secret.request_id}`, undefined, { cookie: malloryPhone.cookie })).status,
        404,
      );
      const decide = await anon.post(
        `/v1/mpa/requests/${secret.request_id}/decisions`,
        malloryDevice.decisionBody(t.serverId, secret.request_id, actionDigest(secret.action), 'approve'),
      );
      assert.equal(decide.status, 403);
      assert.equal(decide.body.error.code, 'not_an_approver');
      const mallorySync = await mallorySse.waitFor((e) => e.event === 'sync', 'the session sync');
      assert.deepEqual(mallorySync.data.requests, []);

      // 4. Changes flow to their own organisation's devices only. Mallory's request to its own
      // devices, then the victim organisation's cancellation: each side sees its own, and only that.
      const own = (
        await mallory.post('/v1/mpa/requests', request('Mallory internal', [malloryDevice.approver, malloryPhone.authenticator!.approver]))
      ).body;
      await mallorySse.waitFor((e) => e.event === 'request' && e.data.request_id === own.request_id, "Mallory's own request");
      assert.equal((await t.api.post(`/v1/mpa/requests/${secret.request_id}/cancel`)).status, 200);
      await victimSocket.waitFor(
        (f) => f.payload.type === 'request' && (f.payload.request as { request_id: string; status: string }).status === 'cancelled',
        'the cancellation',
      );
      const later = (
        await mallory.post(
          '/v1/mpa/requests',
          request('Mallory internal, later', [malloryDevice.approver, malloryPhone.authenticator!.approver]),
        )
      ).body;
      await mallorySse.waitFor((e) => e.event === 'request' && e.data.request_id === later.request_id, "Mallory's later request");
      const seen = mallorySse.events.filter((e) => e.event === 'request');
      assert.ok(seen.length >= 2);
      assert.ok(
        seen.every((e) => e.data.tenant_id === malloryTenant && e.data.request_id !== secret.request_id),
        'the session saw its own organisation only',
      );
      const victimIds = victimSocket.frames.flatMap((f) =>
        f.payload.type === 'request' ? [(f.payload.request as { request_id: string }).request_id] : [],
      );
      assert.ok(
        victimIds.every((id) => id === secret.request_id),
        `the victim device got only its organisation's request: ${victimIds.join(', ')}`,
      );
    } finally {
      mallorySse.close();
      await victimSocket.close();
    }
  });

  test('revoking a device ends its socket at once with a signed refusal, and no change reaches it after', async () => {
    const kept = new TestDevice("Carol's laptop");
    const revoked = new TestDevice("Bob's laptop");
    await pairDevice(t.api, t.serverId, kept);
    await pairDevice(t.api, t.serverId, revoked);
    const keptSocket = await DeviceSocket.open(t.server.url, t.serverId, kept);
    const revokedSocket = await DeviceSocket.open(t.server.url, t.serverId, revoked);
    const about = (id: string, status: string) => (f: { payload: Record<string, unknown> }) => {
      const view = f.payload.request as { request_id: string; status: string } | undefined;
      return f.payload.type === 'request' && view?.request_id === id && view.status === status;
    };
    try {
      const created = (await t.api.post('/v1/mpa/requests', request('Rotate the signing keys', [kept.approver, revoked.approver]))).body;
      for (const socket of [keptSocket, revokedSocket]) await socket.waitFor(about(created.request_id, 'pending'), 'the new request');

      assert.equal((await t.api.request('DELETE', `/v1/devices/${revoked.fingerprint}`)).status, 200);
      const refusal = await revokedSocket.waitFor((f) => f.payload.type === 'error', 'the refusal');
      assert.equal(refusal.payload.code, 'device_revoked');
      assert.equal(await revokedSocket.closed, 4003);
      assert.ok(revokedSocket.allSignedBy(t.server.identity.publicKey), 'the refusal is signed by the server');

      assert.equal((await t.api.post(`/v1/mpa/requests/${created.request_id}/cancel`)).status, 200);
      await keptSocket.waitFor(about(created.request_id, 'cancelled'), 'the cancellation');
      assert.equal(revokedSocket.frames.filter(about(created.request_id, 'cancelled')).length, 0, 'the revoked device saw the change');
      // Beneath the revocation's announcement, the fan-out reads views for devices still paired only.
      const views = await approverViews(t.server.db, acmeTenant, created.request_id, Date.now());
      assert.deepEqual([...views.keys()], [kept.fingerprint]);
    } finally {
      await keptSocket.close();
      await revokedSocket.close();
    }
  });

  test("revoking a passkey ends its approver's event stream, saying so", async () => {
    const phone = SoftwarePasskey.create(origin);
    const paired = await pairPasskey(t.api, (await t.api.post('/v1/pairings', {})).body.code, phone, { name: "Dave's phone" });
    assert.equal(paired.complete?.status, 200, JSON.stringify(paired.complete?.body));
    const stream = await EventStream.open(t.server.url, paired.cookie!);
    await stream.waitFor((e) => e.event === 'sync', 'the first sync');
    assert.equal((await t.api.request('DELETE', `/v1/devices/${phone.fingerprint}`)).status, 200);
    assert.deepEqual((await stream.waitFor((e) => e.event === 'revoked', 'the revocation')).data, { code: 'device_revoked' });
    await assert.rejects(
      stream.waitFor(() => false, 'the end of the stream'),
      /the stream ended/,
    );
    assert.equal((await fetch(`${t.server.url}/approve/events`, { headers: { cookie: paired.cookie! } })).status, 401);
  });

  test("a connection whose pairing was read just before its device's revocation is ended as it joins", async () => {
    const device = new TestDevice("Erin's laptop");
    await pairDevice(t.api, t.serverId, device);
    const fanout = new RequestFanout({ db: t.server.db, clock: Date.now });
    await fanout.start();
    const channel = () => {
      const ended: string[] = [];
      const c: Channel = {
        device: { tenantId: acmeTenant, fingerprint: device.fingerprint },
        sendSync: () => {},
        sendRequest: () => {},
        syncFailed: () => ended.push('sync failed'),
        revoked: () => ended.push('revoked'),
        close: () => ended.push('closed'),
      };
      return { c, ended };
    };
    try {
      const early = channel();
      assert.equal(fanout.add(early.c), true);
      assert.equal((await t.api.request('DELETE', `/v1/devices/${device.fingerprint}`)).status, 200);
      await waitFor(() => early.ended.length > 0, 'the revocation to reach the fan-out');
      assert.deepEqual(early.ended, ['revoked']);
      fanout.remove(early.c);
      // Its pairing read before the revocation committed, it joins after the announcement arrived.
      const late = channel();
      assert.equal(fanout.add(late.c), false);
      assert.deepEqual(late.ended, ['revoked']);
      assert.equal(fanout.size, 0);
    } finally {
      await fanout.stop();
    }
  });

  test("a device's views are read for its own organisation only", async () => {
    const mine = (await t.api.post('/v1/mpa/requests', request('Acme only', [victim.approver]))).body;
    const now = Date.now();
    assert.deepEqual(
      (await deviceViews(t.server.db, { tenantId: acmeTenant, fingerprint: victim.fingerprint }, [mine.request_id], now)).map(
        (v) => v.request_id,
      ),
      [mine.request_id],
    );
    assert.deepEqual(
      await deviceViews(t.server.db, { tenantId: malloryTenant, fingerprint: victim.fingerprint }, [mine.request_id], now),
      [],
    );
    assert.deepEqual((await pendingViewsPage(t.server.db, { tenantId: malloryTenant, fingerprint: victim.fingerprint }, now)).requests, []);
    assert.ok(
      (await pendingViewsPage(t.server.db, { tenantId: acmeTenant, fingerprint: victim.fingerprint }, now)).requests.some(
        (v) => v.request_id === mine.request_id,
      ),
    );
  });
});
