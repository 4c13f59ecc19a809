// A device's pending quota and its approval_burst flag are read from its approvals alone, which
// carry their request's creation and expiry (migration 012). A store upgraded with requests under
// way must answer both exactly as before.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { validateMpaRequest } from '@sigilauth/protocol';
import { coldBootRequest } from '../../../test/support/cold-boot.js';
import { insertPairedDevices, TestDevice } from '../../../test/support/device-keys.js';
import { createStore, describeEachStore, openUnmigrated, type TestStore } from '../../../test/support/stores.js';
import { detectFlags } from '../src/governance/anomaly-flags.js';
import { DEFAULT_GOVERNANCE } from '../src/governance/settings.js';
import { ApiError } from '../src/http/errors.js';
import { createRequest } from '../src/mpa/request-transitions.js';
import { hashBody } from '../src/mpa/requests.js';
import type { Database } from '../src/storage/database.js';
import { migrate } from '../src/storage/migrate.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

describeEachStore('approvals carry their request times', (kind) => {
  let store: TestStore;
  let db: Database;
  const tenantId = randomUUID();
  const device = new TestDevice('Alice');
  const others = [new TestDevice('Bob'), new TestDevice('Carol')];
  const now = Date.now();
  const ids = { pending: randomUUID(), recent: randomUUID(), old: randomUUID() };

  /** A request naming the device as the schema before 012 stored it: no times on the approval. */
  async function seedBefore012(id: string, createdAt: number, status: 'pending' | 'approved') {
    await db.query(
      `INSERT INTO mpa_requests (id, tenant_id, required, groups, action, action_digest, status, expires_at, created_at, completed_at)
       VALUES ($1, $2, 1, '[]'::jsonb, '{"type": "t", "description": "d"}'::jsonb, $3, $4, $5, $6, $7)`,
      [
        id,
        tenantId,
        id.replaceAll('-', '').repeat(2),
        status,
        new Date(createdAt + 5 * MINUTE),
        new Date(createdAt),
        status === 'pending' ? null : new Date(createdAt + MINUTE),
      ],
    );
    await db.query('INSERT INTO mpa_approvers (request_id, fingerprint, group_index, pending) VALUES ($1, $2, 0, $3)', [
      id,
      device.fingerprint,
      status === 'pending',
    ]);
  }

  const create = (maxPendingPerDevice: number) => {
    const body = coldBootRequest({ engineering: [device], security: [others[0]!], operations: [others[1]!] });
    return createRequest(db, tenantId, validateMpaRequest(body), { bodyHash: hashBody(body), now, maxPendingPerDevice });
  };

  before(async () => {
    store = await createStore(kind);
    db = await openUnmigrated(store);
    await migrate(db, { before: '012' });
    await db.query("INSERT INTO tenants (id, name) VALUES ($1, 'Org')", [tenantId]);
    await insertPairedDevices(db, tenantId, [device, ...others]);
    await seedBefore012(ids.pending, now - MINUTE, 'pending');
    await seedBefore012(ids.recent, now - 3 * MINUTE, 'approved');
    await seedBefore012(ids.old, now - 3 * DAY, 'approved');
    await migrate(db);
  });
  after(async () => {
    await db?.close();
    await store?.dispose();
  });

  test('the upgrade copies the times of pending and recent requests, and leaves older ones unset', async () => {
    const rows = await db.query<{ request_id: string; created_at: Date | null; expires_at: Date | null }>(
      'SELECT request_id, created_at, expires_at FROM mpa_approvers WHERE fingerprint = $1',
      [device.fingerprint],
    );
    const byId = new Map(rows.map((r) => [r.request_id, r]));
    assert.equal(byId.get(ids.pending)?.created_at?.getTime(), now - MINUTE);
    assert.equal(byId.get(ids.pending)?.expires_at?.getTime(), now + 4 * MINUTE);
    assert.equal(byId.get(ids.recent)?.created_at?.getTime(), now - 3 * MINUTE);
    assert.equal(byId.get(ids.old)?.created_at, null);
    assert.equal(byId.get(ids.old)?.expires_at, null);
  });

  test('a request from before the upgrade still counts against the pending quota, with its expiry', async () => {
    await assert.rejects(create(1), (err: unknown) => {
      assert.ok(err instanceof ApiError);
      assert.equal(err.code, 'too_many_pending_requests');
      assert.deepEqual(err.details, { fingerprint: device.fingerprint, limit: 1, retry_after_seconds: 240 });
      return true;
    });
    const { view } = await create(2);
    const [approval] = await db.query<{ created_at: Date; expires_at: Date }>(
      'SELECT created_at, expires_at FROM mpa_approvers WHERE request_id = $1 AND fingerprint = $2',
      [view.request_id, device.fingerprint],
    );
    assert.equal(approval?.created_at.toISOString(), view.created_at, 'a new approval carries its request creation');
    assert.equal(approval?.expires_at.toISOString(), view.expires_at, 'and its expiry');
    await assert.rejects(create(2), { code: 'too_many_pending_requests' });
  });

  test('an expired pending request no longer counts, before the sweeper has timed it out', async () => {
    await db.query('UPDATE mpa_approvers SET expires_at = $2 WHERE request_id = $1', [ids.pending, new Date(now)]);
    const { view } = await create(2);
    assert.equal(view.status, 'pending');
  });

  test('approval_burst counts the requests sent to the device in its window, from before the upgrade too', async () => {
    const burst = async (minutes: number, requests: number) => {
      const settings = { ...DEFAULT_GOVERNANCE.anomaly_flags, burst_minutes: minutes, burst_requests: requests, rubber_stamp_seconds: 0 };
      const { flags } = await detectFlags(db, settings, {
        tenantId,
        fingerprint: device.fingerprint,
        timeZone: 'UTC',
        decision: 'approve',
        at: now,
        requestCreatedAt: now - MINUTE,
        network: '127.0.0.0/24',
        client: 'device_key',
      });
      return flags.find((f) => f.kind === 'approval_burst')?.details ?? null;
    };
    // In the last 2 minutes: the pending request from before the upgrade and the two created since.
    assert.deepEqual(await burst(2, 3), { requests_at_least: 3, minutes: 2 });
    assert.equal(await burst(2, 4), null, 'the recent request of 3 minutes ago is outside a 2-minute window');
    assert.deepEqual(await burst(4, 4), { requests_at_least: 4, minutes: 4 });
    assert.equal(await burst(1_440, 5), null, 'the request of 3 days ago is outside any window');
  });
});
