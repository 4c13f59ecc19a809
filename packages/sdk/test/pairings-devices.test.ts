import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { pictogramFor } from '@sigilauth/protocol';
import { SigilApiError, SigilAuth, SigilValidationError } from '../src/index.js';
import { newApprover } from './keys.js';
import { sendError, sendJson, startFakeServer, type Handler } from './fake-server.js';

async function setup(handler: Handler) {
  const server = await startFakeServer(handler);
  after(() => server.close());
  return { server, sigil: new SigilAuth({ serviceUrl: server.url, apiKey: 'sgk_test_key' }) };
}

const SERVER_ID = 'e'.repeat(64);
const PAIRING_ID = '11111111-2222-4333-8444-555555555555';

describe('pairings', { timeout: 300_000 }, () => {
  test('create opens a pairing, with or without a name', async () => {
    const { server, sigil } = await setup((req, res) =>
      sendJson(res, 201, {
        pairing_id: PAIRING_ID,
        code: '12345678',
        status: 'pending',
        name: (req.json as { name?: string }).name ?? null,
        expires_at: new Date(Date.now() + 300_000).toISOString(),
        server_id: SERVER_ID,
        server_public_key: 'A'.repeat(43) + '=',
        pictogram: pictogramFor(SERVER_ID),
      }),
    );
    const pairing = await sigil.pairings.create({ name: "Alice's phone" });
    assert.equal(pairing.code, '12345678');
    assert.equal(pairing.name, "Alice's phone");
    assert.equal(pairing.pictogram.emoji.length, 5);
    await sigil.pairings.create();
    assert.deepEqual(
      server.requests.map((r) => [r.method, r.url, r.json]),
      [
        ['POST', '/v1/pairings', { name: "Alice's phone" }],
        ['POST', '/v1/pairings', {}],
      ],
    );
    await assert.rejects(sigil.pairings.create({ name: '' }), SigilValidationError);
    assert.equal(server.requests.length, 2);
  });

  test('get returns the pairing, with the device once completed', async () => {
    const device = newApprover();
    const { server, sigil } = await setup((_req, res) =>
      sendJson(res, 200, {
        pairing_id: PAIRING_ID,
        status: 'completed',
        name: 'Alice phone',
        expires_at: new Date().toISOString(),
        created_at: new Date().toISOString(),
        completed_at: new Date().toISOString(),
        ...device,
      }),
    );
    const pairing = await sigil.pairings.get(PAIRING_ID);
    assert.equal(pairing.status, 'completed');
    assert.equal(pairing.fingerprint, device.fingerprint);
    assert.equal(server.requests[0]!.url, `/v1/pairings/${PAIRING_ID}`);
  });
});

describe('devices', { timeout: 300_000 }, () => {
  test('list returns the array of devices', async () => {
    const a = newApprover();
    const devices = [{ ...a, name: 'Alice phone', paired_at: new Date().toISOString(), status: 'active' }];
    const { server, sigil } = await setup((_req, res) => sendJson(res, 200, { data: devices }));
    const listed = await sigil.devices.list();
    assert.deepEqual(listed, devices);
    assert.equal(listed[0]!.status, 'active');
    assert.deepEqual([server.requests[0]!.method, server.requests[0]!.url], ['GET', '/v1/devices']);
  });

  test('revoke DELETEs the device and returns it revoked; an unknown one is a 404', async () => {
    const a = newApprover();
    const { server, sigil } = await setup((req, res) =>
      req.url.endsWith(a.fingerprint)
        ? sendJson(res, 200, {
            ...a,
            name: 'Alice phone',
            paired_at: new Date().toISOString(),
            status: 'revoked',
            revoked_at: new Date().toISOString(),
          })
        : sendError(res, 404, 'not_found', 'device not found'),
    );
    const revoked = await sigil.devices.revoke(a.fingerprint);
    assert.equal(revoked.status, 'revoked');
    assert.deepEqual([server.requests[0]!.method, server.requests[0]!.url], ['DELETE', `/v1/devices/${a.fingerprint}`]);
    await assert.rejects(
      sigil.devices.revoke('0'.repeat(64)),
      (err: unknown) => err instanceof SigilApiError && err.status === 404 && err.code === 'not_found',
    );
  });
});
