import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { actionDigest, decisionChallenge, isLowS, verifyTreeHead } from '@sigilauth/protocol';
import type { DecisionPayload, SignedTreeHead } from '@sigilauth/protocol/wire';
import { pairDevice, startTestServer, type TestServer } from '../../../../test/support/api.js';
import { TestDevice } from '../../../../test/support/device-keys.js';
import { createStore, type TestStore } from '../../../../test/support/stores.js';
import { negateS, pairPasskey, SoftwarePasskey } from '../../../../test/support/webauthn.js';
import { verifyAuditLog } from '../../src/audit/verify.js';
import { DeviceSocket } from './helpers.js';

const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

/** The other-S twin of an r||s signature, (r, n - s): ECDSA accepts both. */
function twin(signature: string): string {
  const bytes = Buffer.from(signature, 'base64');
  const s = BigInt(`0x${bytes.subarray(32).toString('hex')}`);
  return Buffer.concat([bytes.subarray(0, 32), Buffer.from((N - s).toString(16).padStart(64, '0'), 'hex')]).toString('base64');
}
/** The high-S form of an r||s signature. */
const highS = (signature: string) => (isLowS(Buffer.from(signature, 'base64')) ? twin(signature) : signature);
const low = (signature: string) => isLowS(Buffer.from(signature, 'base64'));

/**
 * ECDSA signatures are malleable: from any valid (r, s) anyone can make (r, n - s), which also
 * verifies. Sigil accepts only the low-S form of the signatures it defines (docs/protocol.md), so
 * each has one encoding; the attacker here is anyone who has seen a signature on the wire.
 */
describe('only low-S signatures (real server)', () => {
  let store: TestStore;
  let t: TestServer;
  let serverKey: string;

  before(async () => {
    store = await createStore('pglite');
    t = await startTestServer(store);
    serverKey = (await t.api.get('/v1/info')).body.server_public_key;
  });
  after(async () => {
    await t?.close();
    await store?.dispose();
  });

  test("the high-S twin of a device's signature is refused: pairing, socket and decisions", async () => {
    const device = new TestDevice('Dana');
    const { code } = (await t.api.post('/v1/pairings', {})).body;
    const pairing = device.pairingBody(t.serverId, code);
    const refused = await t.api.withKey(null).post('/v1/pairings/complete', { ...pairing, signature: highS(pairing.signature) });
    assert.equal(refused.status, 401, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, 'invalid_signature');
    assert.equal((await t.api.withKey(null).post('/v1/pairings/complete', pairing)).status, 200);

    const malleated = await DeviceSocket.open(t.server.url, t.serverId, device, highS);
    await malleated.waitFor((f) => f.payload.type === 'error', 'the refusal');
    assert.equal(
      malleated.frames.some((f) => f.payload.type === 'ready'),
      false,
    );
    await malleated.close();

    const created = (
      await t.api.post('/v1/mpa/requests', {
        required: 1,
        groups: [{ name: 'G', approvers: [device.approver] }],
        action: { type: 't', description: 'd' },
      })
    ).body;
    const decision = device.decisionBody(t.serverId, created.request_id, actionDigest(created.action), 'approve');
    const twinDecision = await t.api
      .withKey(null)
      .post(`/v1/mpa/requests/${created.request_id}/decisions`, { ...decision, signature: highS(decision.signature) });
    assert.equal(twinDecision.status, 401, JSON.stringify(twinDecision.body));
    assert.equal((await t.api.get(`/v1/mpa/requests/${created.request_id}`)).body.status, 'pending');
    assert.equal((await t.api.withKey(null).post(`/v1/mpa/requests/${created.request_id}/decisions`, decision)).status, 200);
  });

  test('every signature the server makes has low S: socket messages and audit tree heads', async () => {
    const device = new TestDevice('Eve');
    await pairDevice(t.api, t.serverId, device);
    const socket = await DeviceSocket.open(t.server.url, t.serverId, device);
    const heads: SignedTreeHead[] = [];
    try {
      for (let i = 0; i < 8; i++) {
        const { request_id } = (
          await t.api.post('/v1/mpa/requests', {
            required: 1,
            groups: [{ name: 'G', approvers: [device.approver] }],
            action: { type: 't', description: `d${i}` },
          })
        ).body;
        await socket.waitFor(
          (f) => f.payload.type === 'request' && (f.payload.request as { request_id: string }).request_id === request_id,
          `request ${i}`,
        );
        heads.push((await t.api.get('/v1/audit/tree-head')).body);
      }
      assert.ok(socket.frames.length >= 10);
      assert.ok(socket.allSignedBy(serverKey));
      assert.deepEqual(
        socket.frames.filter((f) => !low(f.signature)).map((f) => f.payload.type),
        [],
      );
    } finally {
      await socket.close();
    }
    assert.equal(new Set(heads.map((h) => h.payload.tree_size)).size, heads.length, 'a new head each time');
    for (const head of heads) {
      assert.equal(verifyTreeHead(head, serverKey), true);
      assert.equal(low(head.signature), true);
    }
  });

  test('a tree head stored with the high-S twin of its signature (signed before this rule) reads, and verifies, as the low-S one', async () => {
    const head: SignedTreeHead = (await t.api.get('/v1/audit/tree-head')).body;
    await t.server.db.query('UPDATE audit_tree_heads SET signature = $3 WHERE tenant_id = $1 AND tree_size = $2', [
      head.payload.tenant_id,
      head.payload.tree_size,
      highS(head.signature),
    ]);
    const read: SignedTreeHead = (await t.api.get('/v1/audit/tree-head')).body;
    assert.equal(low(read.signature), true);
    assert.deepEqual(read, head, 'the signature as the server made it');
    assert.equal(verifyTreeHead(read, serverKey), true);
    const report = await verifyAuditLog(t.server.db, head.payload.tenant_id, serverKey);
    assert.deepEqual(report.problems, []);
  });

  test('passkey assertions are accepted with either S, as authenticators make them; the other twin cannot replay a decision', async () => {
    const phone = SoftwarePasskey.create(t.server.publicOrigin!);
    const paired = await pairPasskey(t.api, (await t.api.post('/v1/pairings', {})).body.code, phone);
    assert.equal(paired.complete?.status, 200, JSON.stringify(paired.complete?.body));
    for (const s of ['high', 'low'] as const) {
      const created = (
        await t.api.post('/v1/mpa/requests', {
          required: 1,
          groups: [{ name: 'G', approvers: [phone.approver] }],
          action: { type: 't', description: `passkey ${s}` },
        })
      ).body;
      const payload: DecisionPayload = {
        purpose: 'mpa-decision',
        server_id: t.serverId,
        request_id: created.request_id,
        fingerprint: phone.fingerprint,
        decision: 'approve',
        action_digest: actionDigest(created.action),
        issued_at: Date.now(),
      };
      const webauthn = phone.assert(decisionChallenge(payload), { s });
      const url = `/v1/mpa/requests/${created.request_id}/decisions`;
      assert.equal((await t.api.withKey(null).post(url, { payload, webauthn })).status, 200, s);
      const replay = await t.api.withKey(null).post(url, { payload, webauthn: { ...webauthn, signature: negateS(webauthn.signature) } });
      assert.equal(replay.status, 409, JSON.stringify(replay.body));
      assert.equal(replay.body.error.code, 'already_decided');
    }
  });
});
