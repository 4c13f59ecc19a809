// Attack: someone in the path relays a device's socket and has the server refuse a proof on it,
// hoping the device takes the signed refusal as its own and stops for good. A refusal names the
// proof (its signature) only when that signature verified over the payload as sent: a proof
// whose payload was changed, or another device's, is refused without naming anything.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { DomainTag, signPayload } from '@sigilauth/protocol';
import { pairDevice, startTestServer, type TestServer } from '../../../../test/support/api.js';
import { TestDevice } from '../../../../test/support/device-keys.js';
import { createStore, type TestStore } from '../../../../test/support/stores.js';
import { withTimeout } from '../../../../test/support/wait.js';

let store: TestStore;
let t: TestServer;
const paired = new TestDevice('Paired');
const unpaired = new TestDevice('Never paired');

before(async () => {
  store = await createStore('pglite');
  t = await startTestServer(store);
  await pairDevice(t.api, t.serverId, paired);
});
after(async () => {
  await t?.close();
  await store?.dispose();
});

/** Answers the challenge with `device`'s proof, changed by `tamper` after signing; returns the server's answer. */
async function answer(device: TestDevice, tamper: (auth: { payload: Record<string, unknown>; signature: string }) => void = () => {}) {
  const ws = new WebSocket(`${t.server.url.replace(/^http/, 'ws')}/v1/device/ws?nonce=${'n'.repeat(43)}`);
  try {
    return await withTimeout(
      new Promise<{ payload: Record<string, unknown>; sent: string }>((resolve, reject) => {
        let sent = '';
        ws.on('error', reject);
        ws.on('message', (data) => {
          const frame = JSON.parse(data.toString()) as { payload: Record<string, unknown> };
          if (frame.payload.type !== 'challenge') return resolve({ payload: frame.payload, sent });
          assert.equal(frame.payload.device_nonce, 'n'.repeat(43), 'the challenge repeats the URL nonce');
          const payload = {
            purpose: 'device-session',
            server_id: t.serverId,
            fingerprint: device.fingerprint,
            nonce: frame.payload.nonce,
            issued_at: Date.now(),
          };
          const auth = { payload, signature: signPayload(DomainTag.deviceSession, payload, device.privateKey) };
          tamper(auth);
          sent = auth.signature;
          ws.send(JSON.stringify({ type: 'auth', payload: auth.payload, device_public_key: device.publicKey, signature: auth.signature }));
        });
      }),
      10_000,
      'the answer to the proof',
    );
  } finally {
    ws.terminate();
  }
}

test('a refusal names a proof only when its signature verified over the payload sent', async () => {
  const genuine = await answer(paired);
  assert.equal(genuine.payload.type, 'ready');

  for (const tamper of [
    (a: { payload: Record<string, unknown> }) => void (a.payload.issued_at = Number(a.payload.issued_at) - 600_000),
    (a: { payload: Record<string, unknown> }) => void (a.payload.fingerprint = unpaired.fingerprint),
    (a: { payload: Record<string, unknown> }) => void (a.payload = {}),
  ]) {
    const refused = await answer(paired, tamper);
    assert.equal(refused.payload.code, 'unauthorized');
    assert.equal(refused.payload.proof_signature, undefined, `a changed proof is not named: ${String(refused.payload.message)}`);
  }

  const stranger = await answer(unpaired);
  assert.deepEqual(
    [stranger.payload.code, stranger.payload.message, stranger.payload.proof_signature],
    ['unauthorized', 'this device is not paired, or has been revoked', stranger.sent],
    "a device's own verified proof, refused, is named",
  );
});
