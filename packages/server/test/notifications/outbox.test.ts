// Queuing a request's notifications reads its approvers' rows only: an organisation with
// thousands of paired devices costs a creation no more than one with five, whatever statistics
// the store has gathered (an embedded store starts every run without them).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { validateMpaRequest } from '@sigilauth/protocol';
import { TestDevice } from '../../../../test/support/device-keys.js';
import { createStore, describeEachStore, type TestStore } from '../../../../test/support/stores.js';
import { createRequest } from '../../src/mpa/request-transitions.js';
import { hashBody } from '../../src/mpa/requests.js';
import { enqueueDueReminders, enqueueNotifications } from '../../src/notifications/outbox.js';
import type { Database, Queryable } from '../../src/storage/database.js';
import { openStorage } from '../../src/storage/open.js';
import { createTenant } from '../../src/tenants/tenants.js';

const OTHER_DEVICES = 2000;

describeEachStore('notification outbox', (kind) => {
  let store: TestStore;
  let db: Database;
  let tenantId: string;
  let requestId: string;
  const approvers = Array.from({ length: 5 }, (_, i) => new TestDevice(`Approver ${i + 1}`));
  const withContacts = approvers.slice(0, 3);

  before(async () => {
    store = await createStore(kind);
    db = await openStorage({ dataDir: store.dataDir, databaseUrl: store.databaseUrl, poolSize: 2 });
    tenantId = (await createTenant(db, 'Outbox Corp')).id;
    const others = Array.from({ length: OTHER_DEVICES }, () => randomBytes(32).toString('hex'));
    await db.query(
      `INSERT INTO devices (tenant_id, fingerprint, public_key, name)
       SELECT $1, f, 'unused', 'Other device' FROM unnest($2::text[]) AS t(f)`,
      [tenantId, others],
    );
    await db.query(
      `INSERT INTO devices (tenant_id, fingerprint, public_key, name) SELECT $1, f, k, n FROM unnest($2::text[], $3::text[], $4::text[]) AS t(f, k, n)`,
      [tenantId, approvers.map((a) => a.fingerprint), approvers.map((a) => a.publicKey), approvers.map((a) => a.name)],
    );
    // Contacts for some of the organisation's other devices too: only the request's approvers count.
    await db.query(
      `INSERT INTO device_contacts (tenant_id, fingerprint, email, updated_at) SELECT $1, f, 'someone@example.test', now() FROM unnest($2::text[]) AS t(f)`,
      [tenantId, [...withContacts.map((a) => a.fingerprint), ...others.slice(0, 200)]],
    );
    const body = {
      required: 2,
      groups: approvers.map((a, i) => ({ name: `Group ${i + 1}`, approvers: [a.approver] })),
      action: { type: 'cold_boot', description: 'Cold boot engine 7', params: { engine_id: '7' } },
    };
    const { view } = await createRequest(db, tenantId, validateMpaRequest(body), { bodyHash: hashBody(body), now: Date.now() });
    requestId = view.request_id;
  });
  after(async () => {
    await db?.close();
    await store?.dispose();
  });

  /** Rows of `devices` and `device_contacts` read by `work`, inside one transaction (PostgreSQL's own counters). */
  async function rowsRead(work: (tx: Queryable) => Promise<unknown>): Promise<{ devices: number; contacts: number }> {
    return db.transaction(async (tx) => {
      const read = async () => {
        const rows = await tx.query<{ relname: string; n: string }>(
          `SELECT relname, coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) AS n
             FROM pg_stat_xact_user_tables WHERE relname IN ('devices', 'device_contacts')`,
        );
        const of = (table: string) => Number(rows.find((r) => r.relname === table)?.n ?? 0);
        return { devices: of('devices'), contacts: of('device_contacts') };
      };
      const before = await read();
      await work(tx);
      const after = await read();
      return { devices: after.devices - before.devices, contacts: after.contacts - before.contacts };
    });
  }

  const queued = async (eventKey: string) =>
    (
      await db.query<{ fingerprint: string }>('SELECT fingerprint FROM notifications WHERE event_key = $1 ORDER BY fingerprint', [eventKey])
    ).map((r) => r.fingerprint);

  test(`an event reads the approvers' contacts and devices, not the organisation's (${OTHER_DEVICES} devices)`, async () => {
    const read = await rowsRead((tx) => enqueueNotifications(tx, { id: 'evt_outbox_test', tenantId, type: 'mpa.approved', requestId }));
    assert.ok(read.contacts <= approvers.length, `contacts rows read: ${read.contacts}`);
    assert.ok(read.devices <= withContacts.length, `devices rows read: ${read.devices}`);
    assert.deepEqual(await queued('evt_outbox_test'), withContacts.map((a) => a.fingerprint).sort());
  });

  test('a reminder reads as few, and skips the approvers who decided', async () => {
    await db.query(
      `INSERT INTO mpa_decisions (request_id, fingerprint, group_index, decision, payload, signature, decided_at)
       VALUES ($1, $2, 0, 'approve', '{}', 'unused', now())`,
      [requestId, withContacts[0]!.fingerprint],
    );
    const read = await rowsRead((tx) => enqueueDueReminders(tx, 0.0001, new Date(Date.now() + 1000)));
    assert.ok(read.contacts <= approvers.length, `contacts rows read: ${read.contacts}`);
    assert.ok(read.devices <= withContacts.length, `devices rows read: ${read.devices}`);
    assert.deepEqual(
      await queued(`reminder:${requestId}`),
      withContacts
        .slice(1)
        .map((a) => a.fingerprint)
        .sort(),
    );
  });
});
