import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Api, pairDevice, startTestServer, type TestServer } from '../../../../test/support/api.js';
import { TestDevice } from '../../../../test/support/device-keys.js';
import { DEVICE_CLI, runCli } from '../../../../test/support/processes.js';
import { createStore, describeEachStore, openUnmigrated, type TestStore } from '../../../../test/support/stores.js';
import type { Database } from '../../src/storage/database.js';
import { migrate } from '../../src/storage/migrate.js';
import { createApiKey } from '../../src/tenants/api-keys.js';
import { createTenant } from '../../src/tenants/tenants.js';
import { DeviceSocket } from './helpers.js';

/**
 * A device identity belongs to exactly one organisation, for good: a key paired anywhere on the
 * server (active or revoked) is never paired again, by anyone. The attacker here holds the key
 * itself (a stolen laptop, or an approver moving to a competitor) and a valid code.
 */
describeEachStore('one organisation per device key, and revocation is permanent', (kind) => {
  let store: TestStore;
  let t: TestServer;
  let other: Api;

  const complete = (device: TestDevice, code: string) =>
    t.api.withKey(null).post('/v1/pairings/complete', device.pairingBody(t.serverId, code));

  before(async () => {
    store = await createStore(kind);
    t = await startTestServer(store);
    const tenant = await createTenant(t.server.db, 'Other Org');
    other = t.api.withKey((await createApiKey(t.server.db, tenant.id, 'other', 'live')).key);
  });
  after(async () => {
    await t?.close();
    await store?.dispose();
  });

  test('a key paired with one organisation cannot be paired with another, even by its holder', async () => {
    const alice = new TestDevice('Alice');
    await pairDevice(t.api, t.serverId, alice);
    const opened = (await other.post('/v1/pairings', {})).body;
    const again = await complete(alice, opened.code);
    assert.equal(again.status, 409, JSON.stringify(again.body));
    assert.equal(again.body.error.code, 'device_already_paired');
    assert.match(again.body.error.message, /belongs to one organisation.*new key/);
    assert.deepEqual((await other.get('/v1/devices')).body.data, []);
    // The code was not used up: a new key pairs with it.
    const fresh = new TestDevice('Alice, new key');
    assert.equal((await complete(fresh, opened.code)).status, 200);
    assert.deepEqual(
      (await other.get('/v1/devices')).body.data.map((d: { fingerprint: string }) => d.fingerprint),
      [fresh.fingerprint],
    );
    // Nor twice with the same organisation.
    const same = (await t.api.post('/v1/pairings', {})).body;
    assert.equal((await complete(alice, same.code)).status, 409);
  });

  test('a revoked key cannot pair again, in its own organisation or any other', async () => {
    const bob = new TestDevice('Bob');
    await pairDevice(t.api, t.serverId, bob);
    assert.equal((await t.api.delete(`/v1/devices/${bob.fingerprint}`)).status, 200);
    for (const api of [t.api, other]) {
      const { code } = (await api.post('/v1/pairings', {})).body;
      const res = await complete(bob, code);
      assert.equal(res.status, 409, JSON.stringify(res.body));
      assert.equal(res.body.error.code, 'device_already_paired');
    }
    const listed = (await t.api.get('/v1/devices')).body.data.find((d: { fingerprint: string }) => d.fingerprint === bob.fingerprint);
    assert.equal(listed.status, 'revoked');
    assert.deepEqual(
      (await other.get('/v1/devices')).body.data.filter((d: { fingerprint: string }) => d.fingerprint === bob.fingerprint),
      [],
    );
    const socket = await DeviceSocket.open(t.server.url, t.serverId, bob);
    try {
      await socket.waitFor((f) => f.payload.type === 'error', 'the refusal');
      assert.equal(
        socket.frames.some((f) => f.payload.type === 'ready'),
        false,
      );
    } finally {
      await socket.close();
    }
  });

  test('sigil-device, asked to pair its key with a second organisation, says to pair a new key', async () => {
    const home = mkdtempSync(join(tmpdir(), 'sigil-device-identity-'));
    try {
      const pair = async (api: Api) =>
        runCli(
          DEVICE_CLI,
          ['pair', '--server', t.server.url, '--code', (await api.post('/v1/pairings', {})).body.code, '--yes', '--home', home],
          { timeoutMs: 120_000 },
        );
      const first = await pair(t.api);
      assert.equal(first.code, 0, first.stderr);
      const fingerprint = first.stdout.match(/^fingerprint: ([0-9a-f]{64})$/m)![1];
      const second = await pair(other);
      assert.notEqual(second.code, 0);
      assert.match(
        second.stderr,
        /already paired.*\(device_already_paired\)\. This device's key is in .*; pair with a new one: --home NEW_DIR/s,
      );
      assert.equal(
        (await other.get('/v1/devices')).body.data.some((d: { fingerprint: string }) => d.fingerprint === fingerprint),
        false,
      );
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  test('the schema itself holds one organisation per key', async () => {
    const carol = new TestDevice('Carol');
    await pairDevice(t.api, t.serverId, carol);
    const [tenant] = await t.server.db.query<{ id: string }>("SELECT id FROM tenants WHERE name = 'Other Org'");
    await assert.rejects(
      t.server.db.query('INSERT INTO devices (tenant_id, fingerprint, public_key, name) VALUES ($1, $2, $3, $4)', [
        tenant!.id,
        carol.fingerprint,
        carol.publicKey,
        'copy',
      ]),
      (err: { code?: string }) => err.code === '23505',
    );
  });
});

describeEachStore('upgrading a store where a key was paired with several organisations', (kind) => {
  let store: TestStore;
  let db: Database;

  before(async () => {
    store = await createStore(kind);
    db = await openUnmigrated(store);
  });
  after(async () => {
    await db?.close();
    await store?.dispose();
  });

  test('the key stays with the organisation that paired it first; later pairings and their sessions go, and are audited', async () => {
    await migrate(db, { before: '004' });
    // The organisations as the schema before 004 holds them (createTenant writes later columns).
    const tenantAt003 = async (name: string) => {
      const id = randomUUID();
      await db.query('INSERT INTO tenants (id, name) VALUES ($1, $2)', [id, name]);
      return { id };
    };
    const first = await tenantAt003('First Org');
    const later = await tenantAt003('Later Org');
    const shared = new TestDevice('shared');
    const own = new TestDevice('own');
    const insertDevice = (tenant: string, d: TestDevice, pairedAt: string) =>
      db.query('INSERT INTO devices (tenant_id, fingerprint, public_key, name, paired_at) VALUES ($1, $2, $3, $4, $5)', [
        tenant,
        d.fingerprint,
        d.publicKey,
        d.name,
        pairedAt,
      ]);
    await insertDevice(first.id, shared, '2026-01-01T00:00:00Z');
    await insertDevice(later.id, shared, '2026-01-02T00:00:00Z');
    await insertDevice(later.id, own, '2026-01-03T00:00:00Z');
    const session = (tenant: string, fingerprint: string, token: number) =>
      db.query(
        "INSERT INTO approver_sessions (token_hash, tenant_id, fingerprint, created_at, expires_at) VALUES ($1, $2, $3, now(), now() + interval '1 hour')",
        [Buffer.from([token]), tenant, fingerprint],
      );
    await session(first.id, shared.fingerprint, 1);
    await session(later.id, shared.fingerprint, 2);

    await migrate(db);

    const devices = await db.query<{ tenant_id: string; fingerprint: string }>(
      'SELECT tenant_id, fingerprint FROM devices ORDER BY paired_at',
    );
    assert.deepEqual(devices, [
      { tenant_id: first.id, fingerprint: shared.fingerprint },
      { tenant_id: later.id, fingerprint: own.fingerprint },
    ]);
    const sessions = await db.query<{ tenant_id: string }>('SELECT tenant_id FROM approver_sessions');
    assert.deepEqual(sessions, [{ tenant_id: first.id }]);
    const audit = await db.query<{ tenant_id: string; type: string; data: { fingerprint: string; reason: string } }>(
      'SELECT tenant_id, type, data FROM audit_entries',
    );
    assert.equal(audit.length, 1);
    assert.equal(audit[0]!.tenant_id, later.id);
    assert.equal(audit[0]!.type, 'device.revoked');
    assert.equal(audit[0]!.data.fingerprint, shared.fingerprint);
    assert.match(audit[0]!.data.reason, /another organisation first/);
    await assert.rejects(insertDevice(later.id, shared, '2026-02-01T00:00:00Z'), (err: { code?: string }) => err.code === '23505');
  });
});
