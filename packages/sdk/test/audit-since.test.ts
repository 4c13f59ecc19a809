// sigil.audit.verifySince: an integrator who saved a signed tree head proves later, offline, that
// the log still extends it; a log cut short or rewritten behind the server's back (and a server
// restarted since, so it no longer remembers) is caught by the SDK alone.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodePublicKey, generateP256KeyPair } from '@sigilauth/protocol';
import { AuditVerificationError, SigilAuth, type SignedTreeHead } from '../src/index.js';
import { createApiKey } from '../../server/src/tenants/api-keys.js';
import { rewriteEntry, truncateLog } from '../../server/test/security/audit-tamper.js';
import { pairDevice, startTestServer, type TestServer } from '../../../test/support/api.js';
import { TestDevice } from '../../../test/support/device-keys.js';
import { createStore, type TestStore } from '../../../test/support/stores.js';

let store: TestStore;
let t: TestServer;
let apiKey: string;
let serverPublicKey: string;

const sdk = () => new SigilAuth({ serviceUrl: t.server.url, apiKey });

/** Restarts the server on the same store: its memory of the log is gone, only the database is left. */
async function restart(tamper: (t: TestServer) => Promise<void>) {
  await tamper(t);
  await t.close();
  t = await startTestServer(store, { apiKey });
}

before(async () => {
  store = await createStore('pglite');
  t = await startTestServer(store);
  apiKey = t.api.apiKey!;
  serverPublicKey = (await t.api.get('/v1/info')).body.server_public_key;
  for (const name of ['Ada', 'Bob', 'Cy']) await pairDevice(t.api, t.serverId, new TestDevice(name));
});
after(async () => {
  await t?.close();
  await store?.dispose();
});

const tenantId = async () => (await t.server.db.query<{ id: string }>('SELECT id FROM tenants ORDER BY created_at, id LIMIT 1'))[0]!.id;

test('a log that only grew verifies against the saved head, and the current head is returned to save next', async () => {
  const saved: SignedTreeHead = await sdk().audit.treeHead();
  await pairDevice(t.api, t.serverId, new TestDevice('Dee'));
  const current = await sdk().audit.verifySince(saved, serverPublicKey);
  assert.ok(current.payload.tree_size > saved.payload.tree_size);
  assert.equal((await sdk().audit.verifySince(current, serverPublicKey)).payload.tree_size, current.payload.tree_size);
});

test('a rewritten log fails with log_inconsistent', async () => {
  const saved = await sdk().audit.treeHead();
  const tenant = await tenantId();
  await restart((s) => s.server.db.transaction((tx) => rewriteEntry(tx, tenant, 1, { name: 'Mallory' })));
  await pairDevice(t.api, t.serverId, new TestDevice('Eve'));
  await assert.rejects(sdk().audit.verifySince(saved, serverPublicKey), (err: unknown) => {
    assert.ok(err instanceof AuditVerificationError);
    assert.equal(err.code, 'log_inconsistent');
    return true;
  });
});

test('a log cut short fails with log_truncated', async () => {
  const saved = await sdk().audit.treeHead();
  const tenant = await tenantId();
  await restart((s) => s.server.db.transaction((tx) => truncateLog(tx, tenant, saved.payload.tree_size - 2)));
  await assert.rejects(sdk().audit.verifySince(saved, serverPublicKey), (err: unknown) => {
    assert.ok(err instanceof AuditVerificationError);
    assert.equal(err.code, 'log_truncated');
    assert.match(err.message, new RegExp(`covers ${saved.payload.tree_size}`));
    return true;
  });
});

test('an altered head, a head of another log, or a head checked with another key is refused', async () => {
  const saved = await sdk().audit.treeHead();
  const altered = { ...saved, payload: { ...saved.payload, tree_size: 0 } };
  await assert.rejects(sdk().audit.verifySince(altered, serverPublicKey), { code: 'forged_tree_head' });
  await assert.rejects(sdk().audit.verifySince(saved, encodePublicKey(generateP256KeyPair().publicKey)), { code: 'forged_tree_head' });
  // A genuine head of the same server, but of the organisation's test-mode log.
  const testKey = (await createApiKey(t.server.db, await tenantId(), 'ci', 'test')).key;
  const testHead = await new SigilAuth({ serviceUrl: t.server.url, apiKey: testKey }).audit.treeHead();
  await assert.rejects(sdk().audit.verifySince(testHead, serverPublicKey), { code: 'other_log' });
});
