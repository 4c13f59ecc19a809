import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DomainTag, signPayload } from '@sigilauth/protocol';
import { startTestServer, type TestServer } from '../../../test/support/api.js';
import { TestDevice } from '../../../test/support/device-keys.js';
import { createStore, describeEachStore, type TestStore } from '../../../test/support/stores.js';

describeEachStore('device pairing', (kind) => {
  let store: TestStore;
  let t: TestServer;
  let now = Date.now();
  const complete = (body: unknown) => t.api.withKey(null).post('/v1/pairings/complete', body);

  before(async () => {
    store = await createStore(kind);
    t = await startTestServer(store, { clock: () => now });
  });
  after(async () => {
    await t?.close();
    await store?.dispose();
  });

  test('a code pairs a device once; the integrator sees the result', async () => {
    const opened = await t.api.post('/v1/pairings', { name: "Alice's laptop" });
    assert.equal(opened.status, 201);
    assert.match(opened.body.code, /^\d{8}$/);
    assert.equal(opened.body.server_id, t.serverId);
    assert.equal(opened.body.pictogram.emoji.length, 5);
    assert.equal(Date.parse(opened.body.expires_at) - now, 5 * 60_000);
    assert.equal((await t.api.get(`/v1/pairings/${opened.body.pairing_id}`)).body.status, 'pending');

    const alice = new TestDevice("Alice's laptop");
    const done = await complete(alice.pairingBody(t.serverId, opened.body.code, now));
    assert.equal(done.status, 200, JSON.stringify(done.body));
    assert.equal(done.body.fingerprint, alice.fingerprint);
    assert.equal(done.body.org_name, 'Acme Corp');
    const result = await t.api.get(`/v1/pairings/${opened.body.pairing_id}`);
    assert.equal(result.body.status, 'completed');
    assert.equal(result.body.fingerprint, alice.fingerprint);
    assert.equal(result.body.device_public_key, alice.publicKey);
    assert.equal(result.body.name, "Alice's laptop");
    const devices = (await t.api.get('/v1/devices')).body.data;
    assert.deepEqual(
      devices.map((d: { fingerprint: string }) => d.fingerprint),
      [alice.fingerprint],
    );

    const reuse = await complete(new TestDevice('Mallory').pairingBody(t.serverId, opened.body.code, now));
    assert.equal(reuse.status, 400);
    assert.equal(reuse.body.error.code, 'invalid_code');
  });

  test('a code works until just before five minutes, and not at five minutes', async () => {
    const opened = now;
    const justInTime = await t.api.post('/v1/pairings', {});
    const atFive = await t.api.post('/v1/pairings', {});
    assert.equal(Date.parse(atFive.body.expires_at), opened + 5 * 60_000);

    now = opened + 5 * 60_000 - 1;
    assert.equal((await t.api.get(`/v1/pairings/${atFive.body.pairing_id}`)).body.status, 'pending');
    const inTime = await complete(new TestDevice('In time').pairingBody(t.serverId, justInTime.body.code, now));
    assert.equal(inTime.status, 200, JSON.stringify(inTime.body));

    now = opened + 5 * 60_000;
    assert.equal((await t.api.get(`/v1/pairings/${atFive.body.pairing_id}`)).body.status, 'expired');
    const late = await complete(new TestDevice('Late').pairingBody(t.serverId, atFive.body.code, now));
    assert.equal(late.status, 400);
    assert.equal(late.body.error.code, 'invalid_code');
    assert.equal((await t.api.get(`/v1/pairings/${atFive.body.pairing_id}`)).body.status, 'expired');
    assert.equal(
      (await t.api.get('/v1/devices')).body.data.some((d: { name: string }) => d.name === 'Late'),
      false,
    );
  });

  test('three wrong codes naming the pairing (its first four digits) burn it, and the right code no longer works', async () => {
    const opened = await t.api.post('/v1/pairings', {});
    const code: string = opened.body.code;
    const attacker = new TestDevice('Mallory');
    for (let i = 0; i < 3; i++) {
      assert.equal((await t.api.get(`/v1/pairings/${opened.body.pairing_id}`)).body.status, 'pending');
      const guess = code.slice(0, 4) + String((Number(code.slice(4)) + 1 + i) % 10_000).padStart(4, '0');
      assert.equal((await complete(attacker.pairingBody(t.serverId, guess, now))).status, 400);
    }
    assert.equal((await t.api.get(`/v1/pairings/${opened.body.pairing_id}`)).body.status, 'expired');
    const honest = await complete(new TestDevice('Honest').pairingBody(t.serverId, code, now));
    assert.equal(honest.status, 400);
    assert.equal(
      (await t.api.get('/v1/devices')).body.data.some((d: { name: string }) => d.name === 'Mallory' || d.name === 'Honest'),
      false,
    );
  });

  test('the proof must be signed by the key it names, for this server, now', async () => {
    const opened = await t.api.post('/v1/pairings', {});
    const device = new TestDevice('Dev');
    const forged = device.pairingBody(t.serverId, opened.body.code, now);
    forged.signature = signPayload(DomainTag.pairing, forged.payload, new TestDevice('x').privateKey);
    assert.equal((await complete(forged)).body.error.code, 'invalid_signature');
    const mismatch = device.pairingBody(t.serverId, opened.body.code, now);
    mismatch.payload.fingerprint = new TestDevice('y').fingerprint;
    mismatch.signature = signPayload(DomainTag.pairing, mismatch.payload, device.privateKey);
    assert.equal((await complete(mismatch)).body.error.code, 'fingerprint_mismatch');
    assert.equal((await complete(device.pairingBody('f'.repeat(64), opened.body.code, now))).body.error.code, 'wrong_server');
    assert.equal((await complete(device.pairingBody(t.serverId, opened.body.code, now - 10 * 60_000))).body.error.code, 'stale_signature');
    const ok = await complete(device.pairingBody(t.serverId, opened.body.code, now));
    assert.equal(ok.status, 200, 'failed proofs did not burn the code');
  });
});

test('pairing completion: the documented number of attempts per client per minute, then 429', async () => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const limit = Number(
    /^\| pairing attempts per client \(IPv4 address, IPv6 \/64\) per minute, per instance \| `SIGIL_PAIRING_RATE_LIMIT` \| `(\d+)` \|$/m.exec(
      readme,
    )?.[1],
  );
  assert.ok(Number.isSafeInteger(limit) && limit > 0, 'the README states the default limit');
  // Its own server with the default limit, so no other test's attempts share the rate window.
  const store = await createStore('pglite');
  const t = await startTestServer(store, { config: { pairingRateLimit: undefined } });
  try {
    const device = new TestDevice('Spam');
    const answers = [];
    for (let i = 0; i <= limit; i++)
      answers.push(await t.api.withKey(null).post('/v1/pairings/complete', device.pairingBody(t.serverId, '99999999')));
    assert.deepEqual(
      answers.map((a) => a.status),
      [...Array(limit).fill(400), 429],
    );
    assert.equal(answers[limit]!.body.error.code, 'rate_limited');
  } finally {
    await t.close();
    await store.dispose();
  }
});
