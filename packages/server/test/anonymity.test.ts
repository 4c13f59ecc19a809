// The integrator learns group-level results only, and approvers see counts only: every response
// the integrator gets, every webhook of every MPA event type, and every message every approver's
// device receives is searched for any trace of who decided (a device's fingerprint, public key or
// name). Requests end in each way: approved, rejected, cancelled, timed out.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { actionDigest } from '@sigilauth/protocol';
import type { DeviceRequestView } from '@sigilauth/protocol/wire';
import { DeviceSession } from '../../device/src/index.js';
import { coldBootRequest } from '../../../test/support/cold-boot.js';
import { TestDevice } from '../../../test/support/device-keys.js';
import { createStore, describeEachStore, type TestStore } from '../../../test/support/stores.js';
import { pairDevice, Receiver, startWebhookServer, waitFor, type TestServer } from './webhooks/harness.js';

const MPA_EVENTS = ['mpa.created', 'mpa.approved', 'mpa.rejected', 'mpa.cancelled', 'mpa.timeout'];

describeEachStore('who decided is never disclosed', (kind) => {
  let store: TestStore;
  let t: TestServer;
  let rx: Receiver;
  let now = Date.now();
  const [alice, bob, carol, dave, eve] = ['Alice Ashford', 'Bob Brightwater', 'Carol Cavendish', 'Dave Dunmore', 'Eve Everleigh'].map(
    (n) => new TestDevice(n),
  ) as [TestDevice, TestDevice, TestDevice, TestDevice, TestDevice];
  const everyone = [alice, bob, carol, dave, eve];
  /** Everything the integrator was answered, as text. */
  const integratorSaw: string[] = [];
  /** Every request view each device received over its WebSocket, by device. */
  const deviceSaw = new Map<TestDevice, DeviceRequestView[]>(everyone.map((d) => [d, []]));
  const sessions: DeviceSession[] = [];

  const integrator = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
    const res = method === 'GET' ? await t.api.get(path) : await t.api.post(path, body);
    assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    integratorSaw.push(JSON.stringify(res.body));
    return res.body;
  };
  const decide = async (device: TestDevice, created: { request_id: string; action: never }, decision: 'approve' | 'deny') => {
    const res = await t.api
      .withKey(null)
      .post(
        `/v1/mpa/requests/${created.request_id}/decisions`,
        device.decisionBody(t.serverId, created.request_id, actionDigest(created.action), decision, { issued_at: now }),
      );
    assert.equal(res.status, 200, JSON.stringify(res.body));
  };
  const traces = (device: TestDevice) => [
    device.fingerprint,
    device.fingerprint.slice(0, 12),
    device.publicKey,
    device.name,
    device.name.split(' ')[0]!,
  ];

  before(async () => {
    now = Date.now(); // this suite's own start: the other store's run may have taken minutes
    store = await createStore(kind);
    t = await startWebhookServer(store, { clock: () => now });
    rx = await Receiver.start();
    assert.equal((await t.api.post('/v1/webhooks', { url: rx.url, events: MPA_EVENTS })).status, 201);
    const info = (await t.api.get('/v1/info')).body;
    for (const device of everyone) {
      await pairDevice(t.api, t.serverId, device);
      const views = deviceSaw.get(device)!;
      let ready!: () => void;
      const synced = new Promise<void>((resolve) => (ready = resolve));
      const session = new DeviceSession({
        server: {
          url: t.server.url,
          server_id: t.serverId,
          server_public_key: info.server_public_key,
          org_name: 'Acme Corp',
          tenant_id: '',
          device_name: device.name,
          pairing_id: '',
          paired_at: '',
        },
        key: { privateKey: device.privateKey, publicKey: device.publicKey, fingerprint: device.fingerprint, path: '', created: false },
        now: () => now,
        onSync: (v) => {
          views.push(...v);
          ready();
        },
        onRequest: (v) => views.push(v),
      }).start();
      sessions.push(session);
      await synced;
    }
  });
  after(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    await t?.close();
    await rx?.close();
    await store?.dispose();
  });

  test('approved, rejected, cancelled and timed out: no response, webhook or other device names a decider', async () => {
    const body = coldBootRequest({ engineering: [alice, bob], security: [carol], operations: [dave, eve] }, 60);
    const approved = await integrator('POST', '/v1/mpa/requests', body);
    await decide(alice, approved, 'approve');
    await decide(carol, approved, 'approve');
    const rejected = await integrator('POST', '/v1/mpa/requests', body);
    await decide(bob, rejected, 'approve');
    await decide(eve, rejected, 'deny');
    const cancelled = await integrator('POST', '/v1/mpa/requests', body);
    await decide(dave, cancelled, 'approve');
    await integrator('POST', `/v1/mpa/requests/${cancelled.request_id}/cancel`);
    const timedOut = await integrator('POST', '/v1/mpa/requests', body);
    await decide(carol, timedOut, 'approve');
    now = Date.parse(timedOut.expires_at);

    const requests = [approved, rejected, cancelled, timedOut];
    const decided = new Map([
      [`${approved.request_id} ${alice.fingerprint}`, 'approve'],
      [`${approved.request_id} ${carol.fingerprint}`, 'approve'],
      [`${rejected.request_id} ${bob.fingerprint}`, 'approve'],
      [`${rejected.request_id} ${eve.fingerprint}`, 'deny'],
      [`${cancelled.request_id} ${dave.fingerprint}`, 'approve'],
      [`${timedOut.request_id} ${carol.fingerprint}`, 'approve'],
    ]);
    const outcomes = ['approved', 'rejected', 'cancelled', 'timeout'];
    await waitFor(async () => (await integrator('GET', `/v1/mpa/requests/${timedOut.request_id}`)).status === 'timeout', 'the timeout');
    for (const [i, r] of requests.entries())
      assert.equal((await integrator('GET', `/v1/mpa/requests/${r.request_id}`)).status, outcomes[i]);
    await integrator('GET', '/v1/mpa/requests?limit=100');
    for (const status of outcomes) await integrator('GET', `/v1/mpa/requests?status=${status}`);

    // Every event type of every request reached the receiver.
    const ids = new Set(requests.map((r) => r.request_id));
    const events = () =>
      rx.received.map((r) => JSON.parse(r.body) as { type: string; request_id: string }).filter((e) => ids.has(e.request_id));
    await waitFor(
      () => new Set(events().map((e) => e.type)).size === MPA_EVENTS.length && events().length === 8,
      'created and an outcome for each request',
    );
    // Each event type carries exactly the documented fields: nothing more to leak through.
    const fields = ['action', 'groups_required', 'groups_satisfied', 'groups_total', 'request_id', 'status', 'timestamp', 'type'];
    for (const e of events()) {
      assert.deepEqual(Object.keys(e).sort(), e.type === 'mpa.created' ? [...fields, 'expires_at'].sort() : fields, e.type);
    }
    // Every device (each is an approver of every request) saw every request end.
    for (const [device, views] of deviceSaw) {
      await waitFor(
        () => requests.every((r, i) => views.some((v) => v.request_id === r.request_id && v.status === outcomes[i])),
        `${device.name}'s device to see every outcome`,
      );
    }

    const searched = [...integratorSaw, ...rx.received.map((r) => r.body)];
    for (const device of everyone) {
      for (const trace of traces(device)) {
        const found = searched.find((text) => text.includes(trace));
        assert.equal(found, undefined, `the integrator was shown ${trace}`);
      }
    }
    for (const [viewer, views] of deviceSaw) {
      assert.ok(views.length > 0);
      const text = JSON.stringify(views);
      for (const other of everyone.filter((d) => d !== viewer)) {
        for (const trace of traces(other)) assert.ok(!text.includes(trace), `${viewer.name}'s device was shown ${trace}`);
      }
      // The only decision a device is told of is its own.
      for (const v of views) {
        if (v.my_decision !== null)
          assert.equal(
            v.my_decision,
            decided.get(`${v.request_id} ${viewer.fingerprint}`),
            `${viewer.name} was told of a decision that is not its own`,
          );
      }
    }
  });
});
