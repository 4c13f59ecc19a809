import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { SigilAuth, type SignedTreeHead } from '../src/index.js';
import { pairDevice, startTestServer, type TestServer } from '../../../test/support/api.js';
import { TestDevice } from '../../../test/support/device-keys.js';
import { createStore, type TestStore } from '../../../test/support/stores.js';

let store: TestStore;
let t: TestServer;
let sigil: SigilAuth;

before(async () => {
  store = await createStore('pglite');
  t = await startTestServer(store);
  sigil = new SigilAuth({ serviceUrl: t.server.url, apiKey: t.api.apiKey! });
});
after(async () => {
  await t?.close();
  await store?.dispose();
});

test('sigil.audit proves offline that an entry was logged and the log only grew', async () => {
  const alice = new TestDevice('Alice');
  await pairDevice(t.api, t.serverId, alice);
  const { body: info } = await t.api.get('/v1/info');

  const saved: SignedTreeHead = await sigil.audit.treeHead();
  assert.ok(sigil.audit.verifyTreeHead(saved, info.server_public_key));
  const { data } = await sigil.audit.list({ type: 'device.paired' });
  const found = data.find((e) => e.data.fingerprint === alice.fingerprint);
  assert.ok(found && found.leaf_index !== null && found.leaf_index < saved.payload.tree_size);
  const entry = { ...found, leaf_index: found.leaf_index };

  const proof = await sigil.audit.inclusionProof(entry.leaf_index, saved.payload.tree_size);
  assert.ok(sigil.audit.verifyInclusion(proof, saved.payload, entry));
  assert.equal(
    sigil.audit.verifyInclusion(proof, saved.payload, { ...entry, data: { ...entry.data, name: 'Mallory' } }),
    false,
    'an altered entry fails',
  );

  await pairDevice(t.api, t.serverId, new TestDevice('Bob'));
  const later = await sigil.audit.treeHead();
  assert.ok(later.payload.tree_size > saved.payload.tree_size);
  const consistency = await sigil.audit.consistencyProof(saved.payload.tree_size, later.payload.tree_size);
  assert.ok(sigil.audit.verifyConsistency(consistency, saved.payload, later.payload));
  const rewritten = { ...saved.payload, root_hash: 'f'.repeat(64) };
  assert.equal(sigil.audit.verifyConsistency(consistency, rewritten, later.payload), false, 'a rewritten history fails');
  assert.equal(sigil.audit.verifyTreeHead({ ...saved, payload: rewritten }, info.server_public_key), false, 'a forged head fails');
});
