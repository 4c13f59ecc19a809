import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type Api, pairDevice, startTestServer, type TestServer } from '../../../test/support/api.js';
import { TestDevice } from '../../../test/support/device-keys.js';
import { createStore, describeEachStore, type TestStore } from '../../../test/support/stores.js';
import { authenticateApiKey, createApiKey } from '../src/tenants/api-keys.js';
import { createTenant } from '../src/tenants/tenants.js';

describeEachStore('API keys, tenants and HTTP hygiene', (kind) => {
  let store: TestStore;
  let t: TestServer;
  let other: Api;
  /** What a stranger read while the server served one organisation. */
  let whileAlone: { info: string | null; config: string | null; manifest: string };

  /** The organisation name a stranger reads: /v1/info, the approver's config and its manifest. */
  const strangerReads = async () => {
    const anon = t.api.withKey(null);
    const manifest = (await anon.get('/approve/manifest.webmanifest')).body;
    return {
      info: (await anon.get('/v1/info')).body.org_name,
      config: (await anon.get('/approve/api/config')).body.org_name,
      manifest: (typeof manifest === 'string' ? JSON.parse(manifest) : manifest).name,
    };
  };

  before(async () => {
    store = await createStore(kind);
    t = await startTestServer(store);
    whileAlone = await strangerReads();
    const tenant = await createTenant(t.server.db, 'Other Org');
    other = t.api.withKey((await createApiKey(t.server.db, tenant.id, 'b', 'live')).key);
  });
  after(async () => {
    await t?.close();
    await store?.dispose();
  });

  test('keys have the documented form and are stored only as a hash', async () => {
    assert.match(t.api.apiKey!, /^sgk_live_[0-9a-f]{64}$/);
    const { key } = await createApiKey(
      t.server.db,
      (await t.server.db.query<{ id: string }>('SELECT id FROM tenants LIMIT 1'))[0]!.id,
      'x',
      'test',
    );
    assert.match(key, /^sgk_test_[0-9a-f]{64}$/);
    const rows = await t.server.db.query<Record<string, unknown>>('SELECT * FROM api_keys');
    const dump = JSON.stringify(rows, (_k, v) =>
      v && typeof v === 'object' && v.type === 'Buffer' ? Buffer.from(v.data).toString('hex') : v,
    );
    assert.ok(!dump.includes(key.slice(9)) && !dump.includes(t.api.apiKey!.slice(9)), 'no key stored in clear');
    assert.ok(rows.every((r) => Buffer.from(r.key_hash as Uint8Array).length === 32));
  });

  test('missing, malformed, unknown and revoked keys are 401', async () => {
    const real = t.api.apiKey!;
    const oneDigitOff = `${real.slice(0, -1)}${real.endsWith('0') ? '1' : '0'}`;
    for (const key of [null, 'nope', `sgk_live_${'0'.repeat(64)}`, oneDigitOff]) {
      const res = await t.api.withKey(key).get('/v1/devices');
      assert.equal(res.status, 401, String(key));
      assert.equal(res.body.error.code, 'unauthorized');
    }
    const tenant = (await t.server.db.query<{ id: string }>('SELECT id FROM tenants LIMIT 1'))[0]!.id;
    const { key, record } = await createApiKey(t.server.db, tenant, 'short-lived', 'live');
    assert.ok(await authenticateApiKey(t.server.db, key));
    assert.equal((await t.api.withKey(key).get('/v1/devices')).status, 200);
    await t.server.db.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1', [record.id]);
    assert.equal((await t.api.withKey(key).get('/v1/devices')).status, 401);
  });

  test('a tenant sees only its own devices, pairings and requests', async () => {
    const device = new TestDevice('Alice');
    await pairDevice(t.api, t.serverId, device);
    const pairing = await t.api.post('/v1/pairings', {});
    assert.deepEqual((await other.get('/v1/devices')).body.data, []);
    assert.equal((await other.get(`/v1/pairings/${pairing.body.pairing_id}`)).status, 404);
    assert.equal((await other.delete(`/v1/devices/${device.fingerprint}`)).status, 404);
    const body = {
      required: 1,
      groups: [{ name: 'Solo', approvers: [device.approver] }],
      action: { type: 't', description: 'd' },
    };
    const mine = await t.api.post('/v1/mpa/requests', body);
    assert.equal(mine.status, 201);
    assert.equal((await other.get(`/v1/mpa/requests/${mine.body.request_id}`)).status, 404);
    assert.equal((await other.post(`/v1/mpa/requests/${mine.body.request_id}/cancel`)).status, 404);
    assert.deepEqual((await other.get('/v1/mpa/requests')).body.data, []);
    const theirs = await other.post('/v1/mpa/requests', body);
    assert.equal(theirs.status, 400, 'a device paired with A cannot be named by B');
    assert.match(theirs.body.error.message, /not paired with this organisation/);
    assert.equal((await t.api.get('/v1/info')).body.org_name, 'Acme Corp');
    assert.equal((await other.get('/v1/info')).body.org_name, 'Other Org');
  });

  test('before signing in, the organisation is named only while the server serves one', async () => {
    assert.deepEqual(whileAlone, { info: 'Acme Corp', config: 'Acme Corp', manifest: 'Acme Corp approvals' });
    assert.deepEqual(await strangerReads(), { info: null, config: null, manifest: 'Sigil approver' });
  });

  test('bad JSON, oversize bodies, unknown fields and wrong types get JSON 4xx errors', async () => {
    const bad = await t.api.request('POST', '/v1/pairings', '{"name":');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'invalid_json');
    const big = await t.api.request('POST', '/v1/pairings', JSON.stringify({ name: 'x'.repeat(20_000) }));
    assert.equal(big.status, 413);
    assert.equal(big.body.error.code, 'payload_too_large');
    const hugeRequest = await t.api.request('POST', '/v1/mpa/requests', JSON.stringify({ pad: 'x'.repeat(600_000) }));
    assert.equal(hugeRequest.status, 413);
    const unknown = await t.api.post('/v1/pairings', { name: 'x', admin: true });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.error.message, "body has unknown field 'admin'");
    const wrongType = await t.api.post('/v1/pairings', { name: 7 });
    assert.equal(wrongType.status, 400);
    assert.equal(wrongType.body.error.code, 'invalid_request');
    const text = await t.api.request('POST', '/v1/pairings', 'name=x', { 'content-type': 'text/plain' });
    assert.equal(text.status, 415);
    const missing = await t.api.get('/v1/nothing-here');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'not_found');
  });

  test('health, readiness, metrics, info and the OpenAPI document', async () => {
    const anon = t.api.withKey(null);
    assert.equal((await anon.get('/healthz')).status, 200);
    assert.equal((await anon.get('/readyz')).body.status, 'ready');
    const metrics = await anon.get('/metrics');
    assert.match(metrics.body, /sigil_http_requests_total/);
    assert.match(metrics.body, /sigil_mpa_requests\{status="pending"\}/);
    assert.match(metrics.body, /^sigil_webhook_lag_seconds \d/m);
    assert.match(metrics.body, /^sigil_db_pool_connections\{state="total"\} [1-9]/m);
    const info = await anon.get('/v1/info');
    assert.equal(info.body.server_id, t.serverId);
    assert.equal(info.body.pictogram.emoji.length, 5);
    const openapi = await anon.get('/openapi.json');
    assert.equal(openapi.body.openapi, '3.0.3');
    assert.ok(openapi.body.paths['/v1/mpa/requests'].post.requestBody);
    assert.ok(openapi.body.paths['/v1/pairings/complete'].post);
  });
});
