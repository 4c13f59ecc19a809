// A transition's audit entries (a decision, its flags, the outcome) are written together in one
// statement at the end of its transaction, in the order they were appended (withAuditBatched).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { actionDigest, validateMpaRequest } from '@sigilauth/protocol';
import { coldBootRequest } from '../../../../test/support/cold-boot.js';
import { insertPairedDevices, TestDevice } from '../../../../test/support/device-keys.js';
import { createStore, describeEachStore, type TestStore } from '../../../../test/support/stores.js';
import { appendAudit, AUDIT_ROWS_PER_STATEMENT, withAuditBatched } from '../../src/audit/log.js';
import { submitDecision } from '../../src/mpa/decisions.js';
import { createRequest } from '../../src/mpa/request-transitions.js';
import { hashBody } from '../../src/mpa/requests.js';
import type { Database, Queryable } from '../../src/storage/database.js';
import { openPglite } from '../../src/storage/pglite.js';
import { migrate } from '../../src/storage/migrate.js';
import { openStorage } from '../../src/storage/open.js';
import { createTenant } from '../../src/tenants/tenants.js';

const SERVER_ID = 'f'.repeat(64);
const ORIGIN = { ip: '127.0.0.1', userAgent: 'sigil-test/1.0', via: 'device_key' } as const;

describeEachStore('audit entries batched per transition', (kind) => {
  let store: TestStore;
  let opened: Database;
  let tenantId: string;
  /** The audit inserts every statement sent, counted. */
  let auditInserts = 0;
  /** The texts of those inserts: each is a statement the store prepares and keeps. */
  const auditTexts = new Set<string>();
  const count = (sql: string) => {
    if (sql.startsWith('INSERT INTO audit_entries')) {
      auditInserts++;
      auditTexts.add(sql);
    }
  };
  const counting = (q: Queryable): Queryable => ({
    query: (sql, params) => (count(sql), q.query(sql, params)),
    write: (sql, params) => (count(sql), q.write(sql, params)),
    notifyOnCommit: (sql, params) => q.notifyOnCommit(sql, params),
  });
  let db: Database;
  const devices = [new TestDevice('Alice'), new TestDevice('Bob'), new TestDevice('Carol')] as const;

  const entries = async () =>
    db.query<{ id: string; type: string; request_id: string | null }>(
      'SELECT id, type, request_id FROM audit_entries WHERE tenant_id = $1 ORDER BY id',
      [tenantId],
    );

  before(async () => {
    store = await createStore(kind);
    // The embedded store in this thread, so that the decision's statements pass through `counting`.
    opened =
      kind === 'pglite'
        ? await openPglite(store.dataDir)
        : await openStorage({ dataDir: store.dataDir, databaseUrl: store.databaseUrl, poolSize: 2 });
    await migrate(opened);
    db = {
      ...opened,
      ...counting(opened),
      runProcedure: (procedure, ...args) => procedure.run(db, ...args),
      transaction: (fn) => opened.transaction((tx) => fn({ ...tx, ...counting(tx) })),
    };
    tenantId = (await createTenant(db, 'Org')).id;
    await insertPairedDevices(db, tenantId, devices);
  });
  after(async () => {
    await opened?.close();
    await store?.dispose();
  });

  test('entries appended in a batch are written once it ends, in order, by one statement', async () => {
    const before = (await entries()).length;
    auditInserts = 0;
    await db.transaction((tx) =>
      withAuditBatched(tx, async (batched) => {
        await appendAudit(batched, tenantId, 'team.created', { n: 1 });
        await appendAudit(batched, tenantId, 'team.updated', { n: 2, text: 'quotes " and \\ backslashes' });
        await appendAudit(batched, tenantId, 'team.deleted', { n: 3 });
        assert.equal((await tx.query('SELECT 1 FROM audit_entries WHERE tenant_id = $1', [tenantId])).length, before, 'nothing yet');
      }),
    );
    assert.equal(auditInserts, 1);
    const written = (await entries()).slice(before);
    assert.deepEqual(
      written.map((e) => e.type),
      ['team.created', 'team.updated', 'team.deleted'],
    );
    const [data] = await db.query<{ data: unknown }>('SELECT data FROM audit_entries WHERE id = $1', [written[1]!.id]);
    assert.deepEqual(data?.data, { n: 2, text: 'quotes " and \\ backslashes' });
  });

  test(`a batch of more than ${AUDIT_ROWS_PER_STATEMENT} entries is written in statements of at most that many, in order`, async () => {
    const before = (await entries()).length;
    const count = 2 * AUDIT_ROWS_PER_STATEMENT + 1;
    auditInserts = 0;
    auditTexts.clear();
    await db.transaction((tx) =>
      withAuditBatched(tx, async (batched) => {
        for (let n = 0; n < count; n++) await appendAudit(batched, tenantId, 'team.updated', { n });
      }),
    );
    assert.equal(auditInserts, 3);
    assert.equal(auditTexts.size, 1, 'chunks of 500 and of 1 entry use one statement text, which the store prepares once');
    const written = await db.query<{ n: number }>(
      "SELECT (data->>'n')::int AS n FROM audit_entries WHERE tenant_id = $1 ORDER BY id OFFSET $2",
      [tenantId, before],
    );
    assert.deepEqual(
      written.map((r) => r.n),
      Array.from({ length: count }, (_, n) => n),
    );
  });

  test('a batch whose work fails writes nothing; outside a batch an entry is written at once', async () => {
    const before = (await entries()).length;
    await assert.rejects(
      withAuditBatched(db, async (batched) => {
        await appendAudit(batched, tenantId, 'team.created', {});
        throw new Error('refused');
      }),
      /refused/,
    );
    assert.equal((await entries()).length, before);
    await appendAudit(db, tenantId, 'team.created', {});
    assert.equal((await entries()).length, before + 1);
  });

  test('a completing decision writes its decision, flag and outcome entries with one audit statement', async () => {
    const [alice, bob, carol] = devices;
    const body = coldBootRequest({ engineering: [alice], security: [bob], operations: [carol] });
    const { view } = await createRequest(db, tenantId, validateMpaRequest(body), { bodyHash: hashBody(body), now: Date.now() });
    const decide = async (device: TestDevice) => {
      const { payload, signature } = device.decisionBody(SERVER_ID, view.request_id, actionDigest(view.action), 'approve');
      return submitDecision(db, SERVER_ID, view.request_id, payload, signature, Date.now(), ORIGIN);
    };
    await decide(alice);
    auditInserts = 0;
    assert.equal((await decide(bob)).status, 'approved');
    assert.equal(auditInserts, 1);
    const forRequest = (await entries()).filter((e) => e.request_id === view.request_id).map((e) => e.type);
    assert.deepEqual(forRequest, ['mpa.created', 'mpa.decision', 'mpa.flagged', 'mpa.decision', 'mpa.flagged', 'mpa.completed']);
  });
});
