// A decision that arrives after a request ended, and after its expiry, is refused with the
// request's real final status: an approval long before the expiry is still `approved`, not
// `timeout`. The same holds for a device's signature and for a passkey's assertion.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { actionDigest, decisionChallenge } from '@sigilauth/protocol';
import { pairDevice, startTestServer, type TestServer } from '../../../test/support/api.js';
import { TestDevice } from '../../../test/support/device-keys.js';
import { createStore, describeEachStore, type TestStore } from '../../../test/support/stores.js';
import { pairPasskey, SoftwarePasskey } from '../../../test/support/webauthn.js';
import type { DecisionPayload } from '@sigilauth/protocol/wire';

describeEachStore('a late decision is told the final status', (kind) => {
  let store: TestStore;
  let t: TestServer;
  let now = Date.now();
  const [first, second, late] = [new TestDevice('First'), new TestDevice('Second'), new TestDevice('Late')];
  let passkey: SoftwarePasskey;

  before(async () => {
    store = await createStore(kind);
    t = await startTestServer(store, { clock: () => now });
    for (const dev of [first, second, late]) await pairDevice(t.api, t.serverId, dev);
    passkey = SoftwarePasskey.create(t.server.publicOrigin!);
    const code = (await t.api.post('/v1/pairings', { name: 'Passkey' })).body.code;
    const paired = await pairPasskey(t.api, code, passkey);
    assert.equal(paired.complete?.status, 200, JSON.stringify(paired.complete?.body));
  });
  after(async () => {
    await t?.close();
    await store?.dispose();
  });

  /** One group of four, any one decides: the first decision ends the request. */
  async function create() {
    now = Date.now();
    const res = await t.api.post('/v1/mpa/requests', {
      required: 1,
      groups: [{ name: 'ops', approvers: [first.approver, second.approver, late.approver, passkey.approver] }],
      action: { type: 'deploy', description: 'late decisions' },
      expires_in_seconds: 60,
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as { request_id: string; action: never; expires_at: string };
  }

  const decide = (device: TestDevice, created: { request_id: string; action: never }, decision: 'approve' | 'deny', issuedAt: number) =>
    t.api
      .withKey(null)
      .post(
        `/v1/mpa/requests/${created.request_id}/decisions`,
        device.decisionBody(t.serverId, created.request_id, actionDigest(created.action), decision, { issued_at: issuedAt }),
      );

  const decideWithPasskey = (created: { request_id: string; action: never }, issuedAt: number) => {
    const payload: DecisionPayload = {
      purpose: 'mpa-decision',
      server_id: t.serverId,
      request_id: created.request_id,
      fingerprint: passkey.fingerprint,
      decision: 'approve',
      action_digest: actionDigest(created.action),
      issued_at: issuedAt,
    };
    return t.api
      .withKey(null)
      .post(`/v1/mpa/requests/${created.request_id}/decisions`, { payload, webauthn: passkey.assert(decisionChallenge(payload)) });
  };

  const endings = {
    approved: async (created: { request_id: string; action: never }) =>
      assert.equal((await decide(first, created, 'approve', now)).status, 200),
    rejected: async (created: { request_id: string; action: never }) =>
      assert.equal((await decide(first, created, 'deny', now)).status, 200),
    cancelled: async (created: { request_id: string; action: never }) =>
      assert.equal((await t.api.post(`/v1/mpa/requests/${created.request_id}/cancel`, {})).status, 200),
  };

  for (const [status, end] of Object.entries(endings)) {
    test(`a request ${status} before its expiry is still ${status} to every late decision after it`, async () => {
      const created = await create();
      await end(created);
      assert.equal((await t.api.get(`/v1/mpa/requests/${created.request_id}`)).body.status, status);
      const expiresAt = Date.parse(created.expires_at);
      now = expiresAt + 5_000;

      const refusals = [
        ['signed after the expiry', await decide(late, created, 'approve', now)],
        ['signed at the expiry', await decide(second, created, 'deny', expiresAt)],
        ['signed before the expiry, arriving after it', await decide(second, created, 'approve', expiresAt - 1_000)],
        ['a passkey, after the expiry', await decideWithPasskey(created, now)],
      ] as const;
      for (const [what, res] of refusals) {
        assert.equal(res.status, 409, `${what}: ${JSON.stringify(res.body)}`);
        assert.equal(res.body.error.code, 'request_completed', what);
        assert.equal(res.body.error.details.status, status, `${what}: ${JSON.stringify(res.body)}`);
        assert.equal(res.body.error.message, `MPA request is already ${status}`, what);
      }
      assert.equal((await t.api.get(`/v1/mpa/requests/${created.request_id}`)).body.status, status, 'nothing changed the outcome');
    });
  }

  test('a request still pending at its expiry is refused as timeout', async () => {
    const created = await create();
    now = Date.parse(created.expires_at) + 5_000;
    const res = await decide(late, created, 'approve', now);
    assert.equal(res.status, 409, JSON.stringify(res.body));
    assert.equal(res.body.error.details.status, 'timeout');
  });

  test('a timeout told to a late cancel is stored: a decision read with an earlier clock cannot approve after it', async () => {
    const created = await create();
    const expiresAt = Date.parse(created.expires_at);
    now = expiresAt + 1_000;
    const cancel = await t.api.post(`/v1/mpa/requests/${created.request_id}/cancel`, {});
    assert.equal(cancel.status, 409, JSON.stringify(cancel.body));
    assert.equal(cancel.body.error.details.status, 'timeout');
    // Another instance read its clock just before the expiry, then waited (for the row lock, a
    // database restart): its decision, signed in time, comes after the timeout was told.
    now = expiresAt - 10;
    const stale = await decide(first, created, 'approve', expiresAt - 20);
    assert.equal(stale.status, 409, `accepted after a timeout was told: ${JSON.stringify(stale.body)}`);
    assert.equal(stale.body.error.details.status, 'timeout');
    assert.equal((await t.api.get(`/v1/mpa/requests/${created.request_id}`)).body.status, 'timeout');
  });
});
