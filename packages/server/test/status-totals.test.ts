// The storage-wide gauges of /metrics count requests and webhook deliveries by status without
// counting whole tables (status-totals.ts, migration 011): each finished row is added to the
// totals once, and the counts always equal what a full count would say.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createStore, describeEachStore, openUnmigrated, type TestStore } from '../../../test/support/stores.js';
import { COUNT_BATCH, readStatusCounts } from '../src/status-totals.js';
import type { Database } from '../src/storage/database.js';
import { migrate } from '../src/storage/migrate.js';
import { createEndpoint, deleteEndpoint } from '../src/webhooks/endpoints.js';
import { retryDelivery } from '../src/webhooks/deliveries.js';

const CLI: { via: 'cli' } = { via: 'cli' };

/** What counting the whole table says, as the gauges report it. */
async function fullCount(db: Database, table: 'mpa_requests' | 'webhook_deliveries'): Promise<Map<string, number>> {
  const rows = await db.query<{ status: string; n: number }>(`SELECT status, count(*)::int AS n FROM ${table} GROUP BY status`);
  const counts = new Map(rows.map((r) => [r.status, r.n]));
  if (!counts.has('pending')) counts.set('pending', 0);
  return counts;
}

const sorted = (m: Map<string, number>) => [...m].filter(([, n]) => n !== 0).sort(([a], [b]) => a.localeCompare(b));

async function assertExact(db: Database, what: string): Promise<void> {
  const counts = await readStatusCounts(db);
  assert.deepEqual(sorted(counts.requests), sorted(await fullCount(db, 'mpa_requests')), `requests: ${what}`);
  assert.deepEqual(sorted(counts.deliveries), sorted(await fullCount(db, 'webhook_deliveries')), `deliveries: ${what}`);
}

/** Requests from..to as generated rows: every tenth pending, the rest spread over the finished statuses. */
async function seedRequests(db: Database, tenantId: string, from: number, to: number): Promise<void> {
  await db.query(
    `INSERT INTO mpa_requests (id, tenant_id, required, groups, action, action_digest, status, groups_satisfied, expires_at, created_at, completed_at)
     SELECT gen_random_uuid(), $1, 1, '[]'::jsonb, '{"type": "t", "description": "d"}'::jsonb, md5(i::text) || md5((i + 1)::text),
            CASE i % 10 WHEN 0 THEN 'pending' WHEN 1 THEN 'rejected' WHEN 2 THEN 'timeout' WHEN 3 THEN 'cancelled' ELSE 'approved' END,
            '[]'::jsonb, now() + interval '5 minutes', now(), CASE WHEN i % 10 = 0 THEN NULL ELSE now() END
       FROM generate_series($2::int, $3::int) AS i`,
    [tenantId, from, to],
  );
}

async function seedDeliveries(db: Database, tenantId: string, endpointId: string, statuses: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const status of statuses) {
    const eventId = `evt_${randomUUID().replaceAll('-', '')}`;
    await db.query(`INSERT INTO events (id, tenant_id, type, payload) VALUES ($1, $2, 'mpa.created', '{}')`, [eventId, tenantId]);
    const [row] = await db.query<{ id: string }>(
      `INSERT INTO webhook_deliveries (id, endpoint_id, tenant_id, event_id, event_type, status, next_attempt_at, created_at, completed_at)
       VALUES (gen_random_uuid(), $1, $2, $3, 'mpa.created', $4, now(), now(), CASE WHEN $4 = 'pending' THEN NULL ELSE now() END)
       RETURNING id`,
      [endpointId, tenantId, eventId, status],
    );
    ids.push(row!.id);
  }
  return ids;
}

describeEachStore('storage gauges by status', (kind) => {
  let store: TestStore;
  let db: Database;
  let tenantId: string;

  before(async () => {
    store = await createStore(kind);
    db = await openUnmigrated(store, 3);
  });
  after(async () => {
    await db?.close();
    await store?.dispose();
  });

  test('an upgraded store: the migration counts the requests that had finished, once', async () => {
    await migrate(db, { before: '011' });
    tenantId = randomUUID();
    await db.query("INSERT INTO tenants (id, name) VALUES ($1, 'Org')", [tenantId]);
    await seedRequests(db, tenantId, 1, 40);
    await migrate(db);
    const [totals] = await db.query<{ n: number }>("SELECT sum(n)::int AS n FROM status_totals WHERE kind = 'mpa_requests'");
    assert.equal(totals?.n, 36, 'the 36 finished requests are in the totals');
    const [uncounted] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM mpa_requests WHERE NOT counted');
    assert.equal(uncounted?.n, 4, 'the 4 pending ones are left to count when they finish');
    await assertExact(db, 'right after the migration');
    await db.query("UPDATE mpa_requests SET status = 'approved', completed_at = now() WHERE status = 'pending'");
    await assertExact(db, 'once the pending ones finished');
  });

  test('requests: exact after every change, and a refresh moves only the rows finished since the last', async () => {
    await seedRequests(db, tenantId, 1_000, 1_000 + COUNT_BATCH + 1_234);
    await assertExact(db, 'more than one batch finished at once');
    const [left] = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM mpa_requests WHERE status <> 'pending' AND NOT counted");
    assert.equal(left?.n, 0, 'every finished request is counted');
    await db.query(
      "UPDATE mpa_requests SET status = 'rejected', completed_at = now() WHERE id IN (SELECT id FROM mpa_requests WHERE status = 'pending' LIMIT 3)",
    );
    const [finished] = await db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM mpa_requests WHERE status <> 'pending' AND NOT counted",
    );
    assert.equal(finished?.n, 3, 'what the next refresh has to count: the three just finished');
    await assertExact(db, 'three more finished');
  });

  test('deliveries: a retried delivery leaves the totals until it finishes again, and a deleted endpoint takes its own', async () => {
    const policy = { allowPrivate: true };
    const a = await createEndpoint(db, tenantId, { url: 'http://127.0.0.1:9/a' }, policy, CLI, Date.now());
    const b = await createEndpoint(db, tenantId, { url: 'http://127.0.0.1:9/b' }, policy, CLI, Date.now());
    const [failed] = await seedDeliveries(db, tenantId, a.endpoint.id, ['failed', 'succeeded', 'succeeded', 'pending']);
    await seedDeliveries(db, tenantId, b.endpoint.id, ['succeeded', 'failed', 'failed']);
    await assertExact(db, 'deliveries seeded');
    await retryDelivery(db, tenantId, failed!, CLI, Date.now());
    await assertExact(db, 'a failed delivery retried');
    await db.query("UPDATE webhook_deliveries SET status = 'succeeded', completed_at = now() WHERE id = $1", [failed]);
    await assertExact(db, 'the retried delivery succeeded');
    await deleteEndpoint(db, tenantId, a.endpoint.id, CLI);
    await assertExact(db, 'an endpoint deleted with its deliveries');
    const counts = await readStatusCounts(db);
    assert.equal(counts.deliveries.get('failed'), 2, "the other endpoint's two failures remain");
  });

  test('refreshes running at once count each finished row once', async () => {
    await seedRequests(db, tenantId, 20_000, 20_000 + 2 * COUNT_BATCH);
    await Promise.all([readStatusCounts(db), readStatusCounts(db), readStatusCounts(db)]);
    await assertExact(db, 'after three refreshes at once');
  });
});
