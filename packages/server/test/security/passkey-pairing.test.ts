import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type Api, pairDevice, startTestServer, type TestServer } from '../../../../test/support/api.js';
import { TestDevice } from '../../../../test/support/device-keys.js';
import { createStore, type TestStore } from '../../../../test/support/stores.js';
import { pairPasskey, SoftwarePasskey } from '../../../../test/support/webauthn.js';
import { createApiKey } from '../../src/tenants/api-keys.js';
import { createTenant } from '../../src/tenants/tenants.js';

/**
 * A passkey pairing turns a public key into a device only once that key has signed a fresh
 * server challenge. The attacker here holds a pairing code of their own organisation and another
 * device's public key, as `/v1/devices`, webhooks and the audit log show it to integrators.
 */
describe('passkey pairing proves possession of the key (real server, software authenticators)', () => {
  let store: TestStore;
  let t: TestServer;
  let origin: string;
  let mallory: Api;
  const victim = new TestDevice("Alice's laptop");

  before(async () => {
    store = await createStore('pglite');
    t = await startTestServer(store);
    origin = t.server.publicOrigin!;
    const other = await createTenant(t.server.db, 'Mallory Ltd');
    mallory = t.api.withKey((await createApiKey(t.server.db, other.id, 'mallory', 'live')).key);
    await pairDevice(t.api, t.serverId, victim);
  });
  after(async () => {
    await t?.close();
    await store?.dispose();
  });

  test("claiming another organisation's device key with a passkey registration pairs nothing", async () => {
    const listed = (await t.api.get('/v1/devices')).body.data[0];
    assert.equal(listed.device_public_key, victim.publicKey, 'what the attacker copied');
    const opened = (await mallory.post('/v1/pairings', { name: 'Totally Alice' })).body;
    const impostor = SoftwarePasskey.claiming(origin, victim.publicKey);
    assert.equal(impostor.fingerprint, victim.fingerprint);

    // The registration alone, as the old API took it: attestation "none" carries no signature.
    const bare = await pairPasskey(mallory, opened.code, impostor, { proof: 'omit' });
    assert.equal(bare.options.status, 200);
    assert.equal(bare.complete!.status, 400, JSON.stringify(bare.complete!.body));
    assert.equal(bare.cookie, null);
    // With a proof: the impostor can only sign with a key of its own.
    const forged = await pairPasskey(mallory, opened.code, impostor);
    assert.equal(forged.complete!.status, 401, JSON.stringify(forged.complete!.body));
    assert.equal(forged.complete!.body.error.code, 'invalid_signature');
    assert.equal(forged.cookie, null);

    assert.deepEqual((await mallory.get('/v1/devices')).body.data, [], 'the attacker organisation has no device');
    assert.equal((await mallory.get(`/v1/pairings/${opened.pairing_id}`)).body.status, 'pending', 'the code was not used');
    const [own] = (await t.api.get('/v1/devices')).body.data;
    assert.equal(own.status, 'active');
    assert.deepEqual(own.attestation, { format: 'software', verified: false }, 'still the terminal device it was');
  });

  test('a revoked device cannot be brought back by passkey-pairing its public key', async () => {
    const stolen = new TestDevice('Stolen laptop');
    await pairDevice(t.api, t.serverId, stolen);
    assert.equal((await t.api.delete(`/v1/devices/${stolen.fingerprint}`)).body.status, 'revoked');
    for (const api of [t.api, mallory]) {
      const code = (await api.post('/v1/pairings', {})).body.code;
      const impostor = SoftwarePasskey.claiming(origin, stolen.publicKey);
      for (const proof of ['omit', 'sign'] as const) {
        const res = await pairPasskey(api, code, impostor, { proof });
        assert.notEqual(res.complete!.status, 200, JSON.stringify(res.complete!.body));
      }
    }
    const devices = (await t.api.get('/v1/devices')).body.data as Array<{ fingerprint: string; status: string }>;
    assert.equal(devices.find((d) => d.fingerprint === stolen.fingerprint)?.status, 'revoked');
    // The stolen key still cannot decide anything.
    const request = await t.api.post('/v1/mpa/requests', {
      required: 1,
      groups: [{ name: 'G', approvers: [stolen.approver] }],
      action: { type: 't', description: 'd' },
    });
    assert.equal(request.status, 400);
    assert.match(request.body.error.message, /revoked/);
  });

  test('a passkey pairs once it has signed the fresh proof challenge, and each challenge works once', async () => {
    const opened = (await t.api.post('/v1/pairings', { name: "Bob's phone" })).body;
    const bob = SoftwarePasskey.create(origin);
    // An assertion over the registration challenge is not a proof over the fresh one.
    const wrongChallenge = await pairPasskey(t.api, opened.code, bob, { proofChallenge: (o) => o.options.challenge });
    assert.equal(wrongChallenge.complete!.status, 401, JSON.stringify(wrongChallenge.complete!.body));
    assert.equal((await t.api.get(`/v1/pairings/${opened.pairing_id}`)).body.status, 'pending');

    const paired = await pairPasskey(t.api, opened.code, bob, { name: "Bob's phone" });
    assert.notEqual(paired.options.body.proof.challenge, paired.options.body.options.challenge);
    assert.equal(paired.options.body.proof.userVerification, 'required');
    assert.equal(paired.complete!.status, 200, JSON.stringify(paired.complete!.body));
    assert.equal(paired.complete!.body.fingerprint, bob.fingerprint);
    assert.ok(paired.cookie);
    const anon = t.api.withKey(null);
    assert.equal((await anon.request('GET', '/approve/api/me', undefined, { cookie: paired.cookie })).body.fingerprint, bob.fingerprint);
    const replay = await anon.post('/approve/api/pair/complete', paired.sent);
    assert.equal(replay.status, 400);
    assert.equal(replay.body.error.code, 'challenge_expired');
  });
});
