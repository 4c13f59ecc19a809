// The edges of time, on a server clock the test controls: a decision signed at the request's
// expiry, and the 120 s freshness window of signed payloads, each just inside and just outside.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { actionDigest, SIGNATURE_FRESHNESS_MS } from '@sigilauth/protocol';
import { pairDevice, startTestServer, type TestServer } from '../../../test/support/api.js';
import { TestDevice } from '../../../test/support/device-keys.js';
import { createStore, describeEachStore, type TestStore } from '../../../test/support/stores.js';

describeEachStore('clock edges', (kind) => {
  let store: TestStore;
  let t: TestServer;
  let now = Date.now();
  const devices = Array.from({ length: 5 }, (_, i) => new TestDevice(`D${i}`));
  const [a, b, c, d] = devices as [TestDevice, TestDevice, TestDevice, TestDevice];
  /** Every device its own group, all required: no decision here ends a request. */
  const body = {
    required: devices.length,
    groups: devices.map((dev) => ({ name: dev.name, approvers: [dev.approver] })),
    action: { type: 'x', description: 'clock edges' },
    expires_in_seconds: 60,
  };
  const decide = (device: TestDevice, created: { request_id: string; action: never }, issuedAt: number) =>
    t.api
      .withKey(null)
      .post(
        `/v1/mpa/requests/${created.request_id}/decisions`,
        device.decisionBody(t.serverId, created.request_id, actionDigest(created.action), 'approve', { issued_at: issuedAt }),
      );
  const recorded = async (requestId: string) =>
    (await t.server.db.query<{ fingerprint: string }>('SELECT fingerprint FROM mpa_decisions WHERE request_id = $1', [requestId]))
      .map((r) => r.fingerprint)
      .sort();

  before(async () => {
    store = await createStore(kind);
    t = await startTestServer(store, { clock: () => now });
    for (const dev of devices) await pairDevice(t.api, t.serverId, dev);
  });
  after(async () => {
    await t?.close();
    await store?.dispose();
  });

  test('a decision signed at or after expires_at is refused while the request is still pending', async () => {
    const created = (await t.api.post('/v1/mpa/requests', body)).body;
    const expiresAt = Date.parse(created.expires_at);
    now = expiresAt - 1; // still pending: the sweeper has nothing to do yet
    for (const [device, issuedAt] of [
      [a, expiresAt],
      [b, expiresAt + 1],
      [c, expiresAt + 60_000],
    ] as const) {
      const late = await decide(device, created, issuedAt);
      assert.equal(late.status, 409, `signed ${issuedAt - expiresAt} ms after expiry: ${JSON.stringify(late.body)}`);
      assert.equal(late.body.error.code, 'request_completed');
      assert.equal(late.body.error.details.status, 'timeout');
    }
    const inTime = await decide(d, created, expiresAt - 1);
    assert.equal(inTime.status, 200, JSON.stringify(inTime.body));
    assert.equal(inTime.body.status, 'pending');
    assert.deepEqual(await recorded(created.request_id), [d.fingerprint], 'only the decision signed before expiry is recorded');
    assert.equal((await t.api.get(`/v1/mpa/requests/${created.request_id}`)).body.status, 'pending');
  });

  test('a decision is accepted signed up to 120 s either side of the server clock, not 1 ms more', async () => {
    assert.equal(SIGNATURE_FRESHNESS_MS, 120_000);
    now = Date.now();
    const created = (await t.api.post('/v1/mpa/requests', { ...body, expires_in_seconds: 900 })).body;
    for (const [device, issuedAt] of [
      [a, now - 120_001],
      [a, now + 120_001],
    ] as const) {
      const stale = await decide(device, created, issuedAt);
      assert.equal(stale.status, 400, JSON.stringify(stale.body));
      assert.equal(stale.body.error.code, 'stale_signature');
    }
    assert.equal((await decide(a, created, now - 120_000)).status, 200);
    assert.equal((await decide(b, created, now + 120_000)).status, 200);
    assert.deepEqual(await recorded(created.request_id), [a.fingerprint, b.fingerprint].sort());
  });

  test('a pairing proof is accepted signed up to 120 s either side of the server clock, not 1 ms more', async () => {
    now = Date.now();
    const complete = async (issuedAt: number) => {
      const opened = await t.api.post('/v1/pairings', {});
      return t.api
        .withKey(null)
        .post('/v1/pairings/complete', new TestDevice(`P ${issuedAt - now}`).pairingBody(t.serverId, opened.body.code, issuedAt));
    };
    for (const issuedAt of [now - 120_001, now + 120_001]) {
      const stale = await complete(issuedAt);
      assert.equal(stale.status, 400, JSON.stringify(stale.body));
      assert.equal(stale.body.error.code, 'stale_signature');
    }
    for (const issuedAt of [now - 120_000, now + 120_000]) {
      const fresh = await complete(issuedAt);
      assert.equal(fresh.status, 200, JSON.stringify(fresh.body));
    }
  });
});
