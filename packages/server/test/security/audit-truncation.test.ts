// Attack: an insider with database access cuts the audit log short (or rewrites an entry) and
// makes the leaf hashes, the tree state and the signed heads agree, so that `sigil audit verify`
// says OK and the server goes on signing heads for the doctored log. Defences proved here:
// - a running server never signs a head for a log that does not extend what it saw, and alarms;
// - new heads go out by webhook (audit.head) so third parties can keep them;
// - `sigil audit head` exports heads, and `sigil audit verify --since-head FILE` proves the log
//   is a consistent extension of a saved head (RFC 6962 consistency proof), or names the cut;
// - `sigil audit verify` cross-checks requests and decisions against the log.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { actionDigest, verifyTreeHead, verifyWebhook } from '@sigilauth/protocol';
import type { SignedTreeHead } from '@sigilauth/protocol/wire';
import { integrateTenant } from '../../src/audit/store.js';
import { verifyAuditLog } from '../../src/audit/verify.js';
import type { Database } from '../../src/storage/database.js';
import { openStorage } from '../../src/storage/open.js';
import { Api, pairDevice, startTestServer, type TestServer } from '../../../../test/support/api.js';
import { TestDevice } from '../../../../test/support/device-keys.js';
import { runCli, SIGIL_CLI, startSigil, type RunResult } from '../../../../test/support/processes.js';
import { createStore, describeEachStore, type TestStore } from '../../../../test/support/stores.js';
import { waitFor } from '../../../../test/support/wait.js';
import { Receiver } from '../../../../test/support/webhook-receiver.js';
import { createAndApprove, oneGroupRequest } from '../webhooks/harness.js';
import { rewriteEntry, truncateLog } from './audit-tamper.js';

const tenantOf = async (db: Database) => (await db.query<{ id: string }>('SELECT id FROM tenants ORDER BY created_at, id LIMIT 1'))[0]!.id;
const maxHead = async (db: Database, tenantId: string) =>
  Number(
    (await db.query<{ n: string | null }>('SELECT max(tree_size) AS n FROM audit_tree_heads WHERE tenant_id = $1', [tenantId]))[0]!.n ?? -1,
  );

describeEachStore('a running server refuses to sign a doctored audit log', (kind) => {
  let store: TestStore;
  let t: TestServer;
  let tenantId: string;
  let publicKey: string;
  const device = new TestDevice('Grace');

  before(async () => {
    store = await createStore(kind);
    t = await startTestServer(store, { config: { audit: { intervalMs: 100, signIntervalMs: 0 } } });
    tenantId = await tenantOf(t.server.db);
    publicKey = (await t.api.get('/v1/info')).body.server_public_key;
    await pairDevice(t.api, t.serverId, device);
  });
  after(async () => {
    await t?.close();
    await store?.dispose();
  });

  const grow = async () => {
    for (const d of ['one', 'two', 'three']) await createAndApprove(t.api, t.serverId, device, d);
    const head = await t.api.get('/v1/audit/tree-head');
    assert.equal(head.status, 200);
    return head.body as SignedTreeHead;
  };

  test('a log cut short (and made consistent inside the database) gets no new head, and the alarm goes off', async () => {
    const seen = await grow();
    const cut = seen.payload.tree_size - 4;
    await t.server.db.transaction((tx) => truncateLog(tx, tenantId, cut));
    // The attack is complete as far as the database can tell.
    assert.deepEqual((await verifyAuditLog(t.server.db, tenantId, publicKey)).problems, []);

    const refused = await t.api.get('/v1/audit/tree-head');
    assert.equal(refused.status, 500);
    assert.equal(refused.body.error.code, 'audit_log_tampered');
    assert.match(refused.body.error.message, new RegExp(`the log has ${cut} entries, but this server saw ${seen.payload.tree_size}`));

    // The log grows again past the cut; still no head is signed for it.
    const pairing = await t.api.post('/v1/pairings', { name: 'after the cut' });
    assert.equal(pairing.status, 201);
    await waitFor(
      async () =>
        (
          await t.server.db.query('SELECT 1 FROM audit_entries WHERE tenant_id = $1 AND leaf_index IS NOT NULL AND data->>$2 = $3', [
            tenantId,
            'pairing_id',
            pairing.body.pairing_id,
          ])
        ).length > 0,
      'the new entry to be integrated',
    );
    assert.equal((await t.api.get('/v1/audit/tree-head')).status, 500);
    assert.ok((await maxHead(t.server.db, tenantId)) <= cut, 'a head was signed for the doctored log');
    const metrics = await (await fetch(`${t.server.url}/metrics`)).text();
    assert.match(metrics, /^sigil_audit_alarms_total [1-9]/m, 'the alarm counter');
  });
});

describeEachStore('a running server notices a doctored audit log by itself', (kind) => {
  let store: TestStore;
  let t: TestServer;
  let tenantId: string;
  const device = new TestDevice('Grace');

  before(async () => {
    store = await createStore(kind);
    t = await startTestServer(store, { config: { audit: { intervalMs: 100, signIntervalMs: 200 } } });
    tenantId = await tenantOf(t.server.db);
    await pairDevice(t.api, t.serverId, device);
  });
  after(async () => {
    await t?.close();
    await store?.dispose();
  });

  test('a log cut short while nothing else happens raises the alarm without any request', async () => {
    await createAndApprove(t.api, t.serverId, device, 'one');
    const seen = (await t.api.get('/v1/audit/tree-head')).body as SignedTreeHead;
    const alarms = async () =>
      Number(/^sigil_audit_alarms_total (\d+)/m.exec(await (await fetch(`${t.server.url}/metrics`)).text())?.[1] ?? 0);
    assert.equal(await alarms(), 0);
    await t.server.db.transaction((tx) => truncateLog(tx, tenantId, seen.payload.tree_size - 2));
    await waitFor(async () => (await alarms()) >= 1, 'the alarm');
  });
});

describeEachStore('a running server refuses to sign a rewritten audit log', (kind) => {
  let store: TestStore;
  let t: TestServer;
  let tenantId: string;
  const device = new TestDevice('Grace');

  before(async () => {
    store = await createStore(kind);
    t = await startTestServer(store, { config: { audit: { intervalMs: 100, signIntervalMs: 0 } } });
    tenantId = await tenantOf(t.server.db);
    await pairDevice(t.api, t.serverId, device);
  });
  after(async () => {
    await t?.close();
    await store?.dispose();
  });

  test('an entry rewritten with matching hashes, tree state and heads gets no new head', async () => {
    await createAndApprove(t.api, t.serverId, device, 'first');
    const seen = (await t.api.get('/v1/audit/tree-head')).body as SignedTreeHead;
    await t.server.db.transaction((tx) => rewriteEntry(tx, tenantId, 1, { name: 'Mallory' }));
    const refused = await t.api.get('/v1/audit/tree-head');
    assert.equal(refused.status, 500);
    assert.equal(refused.body.error.code, 'audit_log_tampered');
    await createAndApprove(t.api, t.serverId, device, 'second');
    assert.equal((await t.api.get('/v1/audit/tree-head')).status, 500);
    assert.ok(seen.payload.tree_size > 2);
    assert.ok((await maxHead(t.server.db, tenantId)) < 2, 'a head was signed for the rewritten log');
  });
});

describeEachStore('signed heads go out by webhook', (kind) => {
  let store: TestStore;
  let t: TestServer;
  let receiver: Receiver;

  before(async () => {
    store = await createStore(kind);
    receiver = await Receiver.start();
    t = await startTestServer(store, { config: { webhooks: { allowPrivate: true }, audit: { intervalMs: 100, signIntervalMs: 0 } } });
  });
  after(async () => {
    await t?.close();
    await receiver?.close();
    await store?.dispose();
  });

  test('an endpoint that subscribes to audit.head receives every new signed head; others do not', async () => {
    const witness = await t.api.post('/v1/webhooks', { url: receiver.url, events: ['audit.head'] });
    assert.equal(witness.status, 201, JSON.stringify(witness.body));
    const everything = await t.api.post('/v1/webhooks', { url: receiver.url.replace('/hook', '/all') });
    assert.equal(everything.status, 201);
    const { body: info } = await t.api.get('/v1/info');
    await pairDevice(t.api, t.serverId, new TestDevice('Ada'));
    const head = (await t.api.get('/v1/audit/tree-head')).body as SignedTreeHead;

    /** Deliveries to the witness endpoint: the ones its secret verifies. */
    const witnessed = () =>
      receiver.received.flatMap((r) => {
        try {
          return [
            verifyWebhook(r.body, r.headers as Record<string, string>, witness.body.secret) as { type: string; tree_head: SignedTreeHead },
          ];
        } catch {
          return [];
        }
      });
    const received = await waitFor(
      () => witnessed().find((e) => e.type === 'audit.head' && e.tree_head.payload.tree_size === head.payload.tree_size),
      'the head to arrive by webhook',
    );
    assert.ok(
      witnessed().every((e) => e.type === 'audit.head'),
      'the witness endpoint receives only what it asked for',
    );
    assert.ok(verifyTreeHead(received.tree_head, info.server_public_key), 'the delivered head is signed by the server');
    assert.deepEqual(received.tree_head, head);
    // Deliveries are queued in the head's own transaction: the catch-all endpoint's list is complete.
    const types = (await t.api.get(`/v1/webhooks/${everything.body.id}/deliveries?limit=100`)).body.data.map(
      (d: { event_type: string }) => d.event_type,
    );
    assert.ok(types.includes('device.paired'));
    assert.ok(!types.includes('audit.head'), 'audit.head is sent only to endpoints that ask for it');
  });
});

describeEachStore('sigil audit head and verify --since-head', (kind) => {
  let store: TestStore;
  let dir: string;
  let savedFile: string;
  let saved: SignedTreeHead;
  let pendingRequest: string;
  let rejectedRequest: string;
  const device = new TestDevice('Grace');

  const env = (): Record<string, string> => (store.databaseUrl ? { DATABASE_URL: store.databaseUrl } : {});
  const cli = (...args: string[]): Promise<RunResult> => runCli(SIGIL_CLI, ['audit', ...args, '--data-dir', store.dataDir], { env: env() });
  /** Runs fn on the store directly (every server is stopped, so the embedded store can be opened). */
  const onStore = async <T>(fn: (db: Database) => Promise<T>): Promise<T> => {
    const db = await openStorage({ dataDir: store.dataDir, databaseUrl: store.databaseUrl, poolSize: 1 });
    try {
      return await fn(db);
    } finally {
      await db.close();
    }
  };
  /** Tables an attack touches, parents before children. */
  const TOUCHED = [
    'audit_logs',
    'audit_entries',
    'audit_tree_heads',
    'mpa_requests',
    'mpa_approvers',
    'mpa_decisions',
    'mpa_flags',
    'events',
    'webhook_deliveries',
  ];
  const backup = () =>
    onStore(async (db) => {
      for (const table of TOUCHED) {
        await db.query(`DROP TABLE IF EXISTS backup_${table}`);
        await db.query(`CREATE TABLE backup_${table} AS SELECT * FROM ${table}`);
      }
    });
  const restore = (db: Database) =>
    db.transaction(async (tx) => {
      for (const table of [...TOUCHED].reverse()) await tx.query(`DELETE FROM ${table}`);
      for (const table of TOUCHED) await tx.query(`INSERT INTO ${table} SELECT * FROM backup_${table}`);
    });
  // Each opening of the embedded store costs seconds, so an attack first puts back what the one
  // before it changed, in the same opening; the cases that only read come first.
  const attack = (fn: (db: Database) => Promise<void>) =>
    onStore(async (db) => {
      await restore(db);
      await fn(db);
    });

  before(async () => {
    store = await createStore(kind);
    dir = mkdtempSync(join(tmpdir(), 'sigil-heads-'));
    savedFile = join(dir, 'heads.jsonl');
    const sigil = await startSigil(store, {});
    try {
      const api = new Api(sigil.url, sigil.apiKey!);
      const serverId = (await api.get('/v1/info')).body.server_id;
      await pairDevice(api, serverId, device);
      for (const d of ['one', 'two', 'three']) await createAndApprove(api, serverId, device, d);
      // A head saved outside the server, as an integrator (or a webhook witness) keeps it.
      saved = (await api.get('/v1/audit/tree-head')).body;
      writeFileSync(savedFile, `${JSON.stringify(saved)}\n`);
      const rejected = await api.post('/v1/mpa/requests', oneGroupRequest(device, 'to be rejected'));
      rejectedRequest = rejected.body.request_id;
      const denied = await api
        .withKey(null)
        .post(
          `/v1/mpa/requests/${rejectedRequest}/decisions`,
          device.decisionBody(serverId, rejectedRequest, actionDigest(rejected.body.action), 'deny'),
        );
      assert.equal(denied.status, 200);
      pendingRequest = (await api.post('/v1/mpa/requests', oneGroupRequest(device, 'still pending'))).body.request_id;
      assert.ok(pendingRequest);
      await api.get('/v1/audit/tree-head');
    } finally {
      await sigil.stop();
    }
    await backup();
  });
  after(async () => {
    await store?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  test('sigil audit head exports a signed head per organisation that covers the whole log', async () => {
    const res = await cli('head');
    assert.equal(res.code, 0, res.stderr);
    const heads = res.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as SignedTreeHead);
    assert.equal(heads.length, 1);
    const [publicKey, entries] = await onStore(async (db) => [
      (await db.query<{ public_key: string }>('SELECT public_key FROM server_identity'))[0]!.public_key,
      Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM audit_entries'))[0]!.n),
    ]);
    assert.ok(verifyTreeHead(heads[0]!, publicKey));
    assert.equal(heads[0]!.payload.tree_size, entries);
    assert.ok(heads[0]!.payload.tree_size > saved.payload.tree_size);
  });

  test('an untouched log is a consistent extension of the saved head', async () => {
    const res = await cli('verify', '--since-head', savedFile);
    assert.equal(res.code, 0, res.stdout + res.stderr);
    assert.match(res.stdout, /OK: \d+ entries, \d+ signed tree heads, consistent with 1 saved tree head\(s\)/);
  });

  test('a forged saved head, or one for an organisation the store lacks, fails', async () => {
    const forged = join(dir, 'forged.json');
    writeFileSync(forged, JSON.stringify({ ...saved, payload: { ...saved.payload, tree_size: 1 } }));
    const res = await cli('verify', '--since-head', forged);
    assert.equal(res.code, 1);
    assert.match(res.stdout, /is not signed by the server key/);
    const elsewhere = join(dir, 'elsewhere.json');
    writeFileSync(
      elsewhere,
      JSON.stringify([saved, { ...saved, payload: { ...saved.payload, tenant_id: '00000000-0000-4000-8000-000000000000' } }]),
    );
    const gone = await cli('verify', '--since-head', elsewhere);
    assert.equal(gone.code, 1);
    assert.match(gone.stdout, /organisation 00000000-0000-4000-8000-000000000000, which the store does not have/);
    const junk = join(dir, 'junk.json');
    writeFileSync(junk, '{"hello":1}');
    const bad = await cli('verify', '--since-head', junk);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /holds something other than signed tree heads/);
  });

  test('a log cut short is found only against the saved head, and named', async () => {
    const cut = saved.payload.tree_size - 3;
    await attack((db) => db.transaction(async (tx) => truncateLog(tx, saved.payload.tenant_id, cut)));
    const fooled = await cli('verify');
    assert.equal(fooled.code, 0, `without a saved head the cut is invisible:\n${fooled.stdout}`);
    const res = await cli('verify', '--since-head', savedFile);
    assert.equal(res.code, 1, res.stdout);
    assert.match(
      res.stdout,
      new RegExp(
        `saved tree head of size ${saved.payload.tree_size} .* covers ${saved.payload.tree_size} entries but the log has ${cut}: entries were removed from its end \\(the log was truncated\\)`,
      ),
    );
  });

  test('a log cut and then grown again past the saved size fails the consistency proof', async () => {
    const cut = saved.payload.tree_size - 3;
    await attack(async (db) => {
      await db.transaction(async (tx) => {
        await truncateLog(tx, saved.payload.tenant_id, cut);
        for (let i = 0; i < 6; i++)
          await tx.query(`INSERT INTO audit_entries (tenant_id, type, data) VALUES ($1, 'pairing.created', '{"name_hint":"filler"}')`, [
            saved.payload.tenant_id,
          ]);
      });
      await integrateTenant(db, saved.payload.tenant_id);
    });
    const res = await cli('verify', '--since-head', savedFile);
    assert.equal(res.code, 1, res.stdout);
    assert.equal((await cli('verify')).code, 0, 'inside the database the regrown log is consistent');
    assert.match(res.stdout, /is not a consistent extension of the saved tree head of size \d+/);
  });

  test('an entry rewritten with matching hashes and heads fails the consistency proof', async () => {
    await attack((db) => db.transaction((tx) => rewriteEntry(tx, saved.payload.tenant_id, 2, { name: 'Mallory' })));
    assert.equal((await cli('verify')).code, 0, 'inside the database the rewrite is consistent');
    const res = await cli('verify', '--since-head', savedFile);
    assert.equal(res.code, 1, res.stdout);
    assert.match(res.stdout, /not a consistent extension/);
  });

  test('verify cross-checks requests and decisions against the log', async () => {
    const forgedBy = new TestDevice('Mallory');
    await attack(async (db) => {
      // A forged approval written straight into storage, and an outcome flipped behind the log's back.
      await db.query(
        `INSERT INTO mpa_decisions (request_id, fingerprint, group_index, decision, payload, signature, decided_at) VALUES ($1, $2, 0, 'approve', '{}', 'x', now())`,
        [pendingRequest, forgedBy.fingerprint],
      );
      await db.query(`UPDATE mpa_requests SET status = 'approved' WHERE id = $1`, [rejectedRequest]);
    });
    const res = await cli('verify');
    assert.equal(res.code, 1, res.stdout);
    assert.match(
      res.stdout,
      new RegExp(
        `\\[cross_check\\] decision \\(approve\\) by device ${forgedBy.fingerprint} on request ${pendingRequest} is in storage but has no mpa.decision audit entry`,
      ),
    );
    assert.match(
      res.stdout,
      new RegExp(`\\[cross_check\\] request ${rejectedRequest} is approved in storage but the log records no such outcome`),
    );
  });

  test('the log put back from the backup verifies against the saved head again', async () => {
    await attack(async () => {});
    const clean = await cli('verify', '--since-head', savedFile);
    assert.equal(clean.code, 0, clean.stdout);
  });
});
