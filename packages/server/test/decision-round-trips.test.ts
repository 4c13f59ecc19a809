// On PostgreSQL a decision judged for anomaly flags reads the device's history in the round trip
// that locks its request, judged by the settings the device's last decision was: three round
// trips in all (the request's fixed fields, the lock with everything read under it, the writes
// with COMMIT), four for a device's first decision in a process.
import { after, afterEach, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { actionDigest, validateMpaRequest } from '@sigilauth/protocol';
import { coldBootRequest } from '../../../test/support/cold-boot.js';
import { insertPairedDevices, TestDevice } from '../../../test/support/device-keys.js';
import { countRoundTrips } from '../../../test/support/postgres.js';
import { createStore, describePostgres, type TestStore } from '../../../test/support/stores.js';
import { submitDecision } from '../src/mpa/decisions.js';
import { createRequest } from '../src/mpa/request-transitions.js';
import { hashBody } from '../src/mpa/requests.js';
import type { Database } from '../src/storage/database.js';
import { openStorage } from '../src/storage/open.js';
import { createTenant } from '../src/tenants/tenants.js';

const SERVER_ID = 'e'.repeat(64);
const ORIGIN = { ip: '192.0.2.10', userAgent: 'sigil-device/0.1.0', via: 'device_key' as const };

describePostgres('the round trips of a decision on PostgreSQL', () => {
  let store: TestStore;
  let db: Database;
  let tenantId: string;
  const devices = [new TestDevice('Alice'), new TestDevice('Bob'), new TestDevice('Carol')];
  const [alice, bob, carol] = devices as [TestDevice, TestDevice, TestDevice];
  let roundTrips: ReturnType<typeof countRoundTrips>;

  before(async () => {
    store = await createStore('postgres');
    db = await openStorage({ dataDir: store.dataDir, databaseUrl: store.databaseUrl, poolSize: 2 });
    tenantId = (await createTenant(db, 'Org')).id;
    await insertPairedDevices(db, tenantId, devices);
  });
  after(async () => {
    await db?.close();
    await store?.dispose();
  });
  beforeEach(() => {
    roundTrips = countRoundTrips();
  });
  afterEach(() => roundTrips.stop());

  async function newRequest() {
    const body = coldBootRequest({ engineering: [alice], security: [bob], operations: [carol] });
    const { view } = await createRequest(db, tenantId, validateMpaRequest(body), { bodyHash: hashBody(body), now: Date.now() });
    return { id: view.request_id, digest: actionDigest(view.action) };
  }
  /** The round trips of one decision with an origin, so judged for anomaly flags. */
  const tripsOf = async (device: TestDevice, request: { id: string; digest: string }) => {
    const { payload, signature } = device.decisionBody(SERVER_ID, request.id, request.digest, 'approve');
    roundTrips.reset();
    const view = await submitDecision(db, SERVER_ID, request.id, payload, signature, Date.now(), ORIGIN);
    assert.equal(view.my_decision, 'approve');
    return roundTrips.count;
  };

  test("a device's first decision reads its history in a round trip of its own; its next ones with the lock", async () => {
    assert.equal(await tripsOf(alice, await newRequest()), 4);
    assert.equal(await tripsOf(alice, await newRequest()), 3);
    assert.equal(await tripsOf(alice, await newRequest()), 3);
  });

  test('a device whose settings changed since its last decision reads its history again', async () => {
    assert.equal(await tripsOf(bob, await newRequest()), 4);
    await db.query('INSERT INTO governance_settings (tenant_id, rubber_stamp_seconds) VALUES ($1, 0)', [tenantId]);
    assert.equal(await tripsOf(bob, await newRequest()), 4, 'the history read with the lock was judged by other settings');
    assert.equal(await tripsOf(bob, await newRequest()), 3);
  });
});
