// The operational history is deleted SIGIL_HISTORY_RETENTION_DAYS after it finished; the record of
// what was approved (requests, decisions, the audit log) stays, and so does anything unfinished.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { actionDigest } from '@sigilauth/protocol';
import { pairDevice, startTestServer, type TestServer } from '../../../test/support/api.js';
import { TestDevice } from '../../../test/support/device-keys.js';
import { waitFor } from '../../../test/support/wait.js';
import { Receiver } from '../../../test/support/webhook-receiver.js';
import { createStore, describeEachStore, type TestStore } from '../../../test/support/stores.js';
import { PRUNE_BATCH, pruneHistory } from '../src/retention/history.js';
import { readStatusCounts } from '../src/status-totals.js';
import { verifyAuditLog } from '../src/audit/verify.js';
import { defaultTenant } from '../src/tenants/tenants.js';

const DAY = 86_400_000;

describeEachStore('history retention', (kind) => {
  let store: TestStore;
  let t: TestServer;
  let ok: Receiver;
  let failing: Receiver;
  // The server's clock runs with real time (deliveries are scheduled by the database's), moved on by `offset`.
  let offset = 0;
  const now = () => Date.now() + offset;
  const device = new TestDevice("Grace's phone");

  before(async () => {
    store = await createStore(kind);
    ok = await Receiver.start();
    failing = await Receiver.start(() => ({ status: 503 }));
    t = await startTestServer(store, {
      clock: now,
      config: {
        webhooks: { allowPrivate: true, retryScheduleMs: [DAY * 1000] },
        historyRetention: { days: 90, intervalMs: 50 },
        metrics: { refreshIntervalMs: 60_000 },
      },
    });
    await pairDevice(t.api, t.serverId, device);
  });
  after(async () => {
    await t?.close();
    await ok?.close();
    await failing?.close();
    await store?.dispose();
  });

  const db = () => t.server.db;
  const count = async (sql: string, params: unknown[] = []) => (await db().query<{ n: number }>(sql, params))[0]!.n;

  async function approvedRequest(): Promise<string> {
    const created = await t.api.post('/v1/mpa/requests', {
      required: 1,
      groups: [{ name: 'Approvers', approvers: [device.approver] }],
      action: { type: 'grant_admin', description: 'Grant admin to Grace' },
      expires_in_seconds: 600,
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id: string = created.body.request_id;
    const decided = await t.api
      .withKey(null)
      .post(
        `/v1/mpa/requests/${id}/decisions`,
        device.decisionBody(t.serverId, id, actionDigest(created.body.action), 'approve', { issued_at: now() }),
      );
    assert.equal(decided.status, 200, JSON.stringify(decided.body));
    return id;
  }

  test('finished deliveries, their events, notifications and ended pairings go once they are older; the rest stays', async () => {
    for (const receiver of [ok, failing]) {
      const endpoint = await t.api.post('/v1/webhooks', { url: receiver.url, events: ['mpa.approved'] });
      assert.equal(endpoint.status, 201, JSON.stringify(endpoint.body));
    }
    const abandoned = await t.api.post('/v1/pairings', { name: 'never completed' });
    assert.equal(abandoned.status, 201);

    const old = await approvedRequest();
    const deliveriesOf = (requestId: string) =>
      db().query<{ id: string; status: string; event_id: string }>(
        'SELECT id, status, event_id FROM webhook_deliveries WHERE request_id = $1',
        [requestId],
      );
    await waitFor(async () => (await deliveriesOf(old)).some((d) => d.status === 'succeeded'), 'the old delivery to succeed');
    await waitFor(async () => failing.received.length > 0, 'the failing endpoint to be tried');
    const [oldDone] = (await deliveriesOf(old)).filter((d) => d.status === 'succeeded');
    const notification = await insertNotification(old, new Date(now()));
    const succeededBefore = (await readStatusCounts(db())).deliveries.get('succeeded');
    assert.equal(succeededBefore, 1);

    offset += 91 * DAY;
    const recent = await approvedRequest();
    await waitFor(async () => (await deliveriesOf(recent)).some((d) => d.status === 'succeeded'), 'the recent delivery to succeed');
    const recentPairing = await t.api.post('/v1/pairings', { name: 'opened today' });
    assert.equal(recentPairing.status, 201);

    await waitFor(
      async () => (await count('SELECT count(*)::int AS n FROM webhook_deliveries WHERE id = $1', [oldDone!.id])) === 0,
      'the old delivery to be deleted',
    );
    await waitFor(async () => (await count('SELECT count(*)::int AS n FROM pairings')) === 1, 'the old pairings to be deleted');
    await waitFor(
      async () => (await count('SELECT count(*)::int AS n FROM notifications WHERE id = $1', [notification])) === 0,
      'the notification',
    );
    assert.equal(await count('SELECT count(*)::int AS n FROM webhook_attempts WHERE delivery_id = $1', [oldDone!.id]), 0);
    assert.equal(await count('SELECT count(*)::int AS n FROM notification_attempts WHERE notification_id = $1', [notification]), 0);

    // The old event is still named by the delivery that has not succeeded: both stay.
    const [pending] = (await deliveriesOf(old)).filter((d) => d.status !== 'succeeded');
    assert.ok(pending, 'the failing endpoint keeps its delivery');
    assert.equal(await count('SELECT count(*)::int AS n FROM events WHERE id = $1', [oldDone!.event_id]), 1);
    // The recent history stays.
    assert.equal((await deliveriesOf(recent)).filter((d) => d.status === 'succeeded').length, 1);
    assert.equal((await t.api.get(`/v1/pairings/${recentPairing.body.pairing_id}`)).status, 200);

    // The record stays: the request, its decision, the device, and an audit log that verifies.
    const request = await t.api.get(`/v1/mpa/requests/${old}`);
    assert.equal(request.status, 200);
    assert.equal(request.body.status, 'approved');
    assert.equal(await count('SELECT count(*)::int AS n FROM mpa_decisions WHERE request_id = $1', [old]), 1);
    assert.equal((await t.api.get('/v1/devices')).body.data.length, 1);
    assert.equal((await t.api.get(`/v1/webhooks/deliveries/${oldDone!.id}`)).status, 404);
    const tenantId = (await defaultTenant(db()))!.id;
    assert.deepEqual((await verifyAuditLog(db(), tenantId, t.server.identity.publicKey)).problems, []);

    // /metrics counts what is stored: the deleted delivery left the totals.
    assert.equal((await readStatusCounts(db())).deliveries.get('succeeded'), 1);
    const metrics = await t.api.withKey(null).get('/metrics');
    assert.match(String(metrics.body), /sigil_history_deleted_total\{table="webhook_deliveries"\} 1\b/);
    assert.match(String(metrics.body), /sigil_history_deleted_total\{table="pairings"\} 2\b/);

    // Once its last delivery has finished and aged too, the event goes.
    await db().query(`UPDATE webhook_deliveries SET status = 'failed', completed_at = $2, next_attempt_at = $2 WHERE id = $1`, [
      pending!.id,
      new Date(now() - 91 * DAY),
    ]);
    await waitFor(async () => (await count('SELECT count(*)::int AS n FROM events WHERE id = $1', [oldDone!.event_id])) === 0, 'the event');
  });

  test('more than a batch is deleted in one run, a batch per statement', async () => {
    const requestId = await approvedRequest();
    // Inside the server's own retention, which runs beside this, so only this call deletes them.
    const finished = new Date(now() - 50 * DAY);
    const n = 2 * PRUNE_BATCH + 7;
    await db().query(
      `INSERT INTO notifications (id, tenant_id, request_id, event_key, kind, fingerprint, channel, target, status, next_attempt_at, created_at, completed_at)
       SELECT gen_random_uuid(), r.tenant_id, r.id, 'bulk-' || i, 'created', 'fp', 'email', 'a@example.com', 'sent', $2, $2, $2
         FROM mpa_requests r CROSS JOIN generate_series(1, $3) i WHERE r.id = $1`,
      [requestId, finished, n],
    );
    await db().query(`UPDATE notifications SET status = 'queued', completed_at = NULL WHERE event_key = 'bulk-1'`);
    const deleted = await pruneHistory(db(), new Date(now() - 10 * DAY));
    assert.equal(deleted.notifications, n - 1);
    assert.equal(await count(`SELECT count(*)::int AS n FROM notifications WHERE event_key LIKE 'bulk-%'`), 1, 'the queued one stays');
  });

  test('a server started on an old history prunes it soon after it starts, not an interval later', async () => {
    const other = await createStore(kind);
    try {
      const first = await startTestServer(other);
      const opened = await first.api.post('/v1/pairings', { name: 'opened long ago' });
      assert.equal(opened.status, 201);
      await first.server.db.query(`UPDATE pairings SET created_at = created_at - interval '100 days', status = 'expired'`);
      await first.close();
      const again = await startTestServer(other, {
        apiKey: first.api.apiKey,
        config: { historyRetention: { days: 90, intervalMs: 3_600_000, firstAfterMs: 10 } },
      });
      try {
        await waitFor(async () => (await again.api.get(`/v1/pairings/${opened.body.pairing_id}`)).status === 404, 'the old pairing to go');
      } finally {
        await again.close();
      }
    } finally {
      await other.dispose();
    }
  });

  async function insertNotification(requestId: string, at: Date): Promise<string> {
    const id = randomUUID();
    await db().query(
      `INSERT INTO notifications (id, tenant_id, request_id, event_key, kind, fingerprint, channel, target, status, attempts, next_attempt_at, created_at, completed_at)
       SELECT $1, tenant_id, id, 'created:' || id, 'created', $3, 'email', 'grace@example.com', 'sent', 1, $2, $2, $2 FROM mpa_requests WHERE id = $4`,
      [id, at, device.fingerprint, requestId],
    );
    await db().query(`INSERT INTO notification_attempts (notification_id, attempt, started_at, outcome) VALUES ($1, 1, $2, 'sent')`, [
      id,
      at,
    ]);
    return id;
  }
});
