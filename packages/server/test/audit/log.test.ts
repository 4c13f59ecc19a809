// The audit log API on both stores: contiguous leaves, recomputable leaf hashes, signed tree
// heads, inclusion and consistency proofs checked with the protocol's verifiers.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  actionDigest,
  auditLeafHash,
  verifyAuditConsistency,
  verifyAuditInclusion,
  verifyConsistency,
  verifyInclusion,
  verifyTreeHead,
} from '@sigilauth/protocol';
import type { SignedTreeHead } from '@sigilauth/protocol/wire';
import { rootHash } from '../../src/audit/merkle.js';
import { createApiKey } from '../../src/tenants/api-keys.js';
import { createTenant } from '../../src/tenants/tenants.js';
import { TestDevice } from '../../../../test/support/device-keys.js';
import { createStore, describeEachStore, type TestStore } from '../../../../test/support/stores.js';
import { Api, createAndApprove, oneGroupRequest, pairDevice, startWebhookServer, waitFor, type TestServer } from '../webhooks/harness.js';

const flipHex = (h: string) => (h[0] === '0' ? '1' : '0') + h.slice(1);

describeEachStore('audit log', (kind) => {
  let store: TestStore;
  let t: TestServer;
  let serverKey: string;
  const device = new TestDevice('Frank');
  let approvedId: string;
  let cancelledId: string;

  const all = async (api: Api, query = '') => {
    const entries = [];
    let cursor: string | null = null;
    do {
      const res: { status: number; body: { data: unknown[]; next_cursor: string | null } } = await api.get(
        `/v1/audit?limit=3${query}${cursor ? `&cursor=${cursor}` : ''}`,
      );
      assert.equal(res.status, 200, JSON.stringify(res.body));
      entries.push(...res.body.data);
      cursor = res.body.next_cursor;
    } while (cursor);
    return entries as any[];
  };
  const head = async (api = t.api): Promise<SignedTreeHead> => {
    const res = await api.get('/v1/audit/tree-head');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  };

  before(async () => {
    store = await createStore(kind);
    t = await startWebhookServer(store);
    serverKey = (await t.api.get('/v1/info')).body.server_public_key;
    await pairDevice(t.api, t.serverId, device);
    approvedId = await createAndApprove(t.api, t.serverId, device);
    cancelledId = (await t.api.post('/v1/mpa/requests', oneGroupRequest(device))).body.request_id;
    await t.api.post(`/v1/mpa/requests/${cancelledId}/cancel`);
  });
  after(async () => {
    await t?.close();
    await store?.dispose();
  });

  test('every security event is logged, with contiguous leaf indexes and recomputable leaf hashes', async () => {
    const entries = await all(t.api);
    const types = entries.map((e) => e.type);
    for (const type of [
      'apikey.created',
      'pairing.created',
      'device.paired',
      'mpa.created',
      'mpa.decision',
      'mpa.completed',
      'mpa.cancelled',
    ]) {
      assert.ok(types.includes(type), `${type} in ${types.join(', ')}`);
    }
    entries.forEach((e, i) => {
      assert.equal(e.leaf_index, i);
      assert.equal(e.leaf_hash, auditLeafHash(e));
      assert.match(e.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    });
    const decision = entries.find((e) => e.type === 'mpa.decision');
    assert.equal(decision.request_id, approvedId);
    assert.equal(decision.data.fingerprint, device.fingerprint);
    assert.equal(decision.data.group, 'Security');
    assert.equal(decision.data.decision, 'approve');
    assert.match(decision.data.signature, /^[A-Za-z0-9+/]{86}==$/);
    const created = entries.find((e) => e.type === 'mpa.created' && e.request_id === approvedId);
    assert.equal(created.data.requested_by, 'alice@example.com');

    // Filters: by request, by type, by time.
    const forRequest = await all(t.api, `&request_id=${approvedId}`);
    assert.deepEqual(
      forRequest.map((e) => e.type),
      // approved within a second of its creation: flagged as rubber-stamping (docs/governance.md)
      ['mpa.created', 'mpa.decision', 'mpa.flagged', 'mpa.completed'],
    );
    assert.deepEqual(
      (await all(t.api, '&type=mpa.cancelled')).map((e) => e.request_id),
      [cancelledId],
    );
    const future = new Date(Date.now() + 3_600_000).toISOString();
    assert.equal((await all(t.api, `&since=${future}`)).length, 0);
    assert.equal((await all(t.api, `&until=${future}`)).length, entries.length);
    assert.equal((await t.api.get('/v1/audit?limit=0')).status, 400);
    assert.equal((await t.api.get('/v1/audit?bogus=1')).status, 400);
    assert.equal((await t.api.withKey(null).get('/v1/audit')).status, 401);
  });

  test('the tree head is signed by the server identity and commits to every leaf', async () => {
    const signed = await head();
    assert.equal(verifyTreeHead(signed, serverKey), true);
    const entries = await all(t.api);
    assert.equal(signed.payload.tree_size, entries.length);
    assert.equal(signed.payload.purpose, 'audit-tree-head');
    assert.equal(signed.payload.server_id, t.serverId);
    assert.equal(signed.payload.root_hash, rootHash(entries.map((e) => Buffer.from(e.leaf_hash, 'hex'))).toString('hex'));
    for (const forged of [
      { ...signed, payload: { ...signed.payload, tree_size: signed.payload.tree_size - 1 } },
      { ...signed, payload: { ...signed.payload, root_hash: flipHex(signed.payload.root_hash) } },
      { ...signed, payload: { ...signed.payload, timestamp: signed.payload.timestamp + 1 } },
    ]) {
      assert.equal(verifyTreeHead(forged, serverKey), false);
    }
    assert.equal(verifyTreeHead(signed, new TestDevice('other').publicKey), false);
  });

  test('inclusion proofs verify for every entry, and fail when tampered', async () => {
    const signed = await head();
    const size = signed.payload.tree_size;
    const entries = await all(t.api);
    for (let index = 0; index < size; index++) {
      const res = await t.api.get(`/v1/audit/proof/inclusion?index=${index}&size=${size}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const proof = res.body;
      assert.deepEqual(proof.entry, entries[index]);
      assert.equal(proof.root_hash, signed.payload.root_hash);
      assert.deepEqual(proof.tree_head, signed);
      assert.equal(verifyAuditInclusion(proof, signed.payload, proof.entry), true, `leaf ${index}`);
      assert.equal(verifyInclusion(proof.leaf_hash, index, size, proof.audit_path, signed.payload.root_hash), true);
      // Tampered: the entry's data, the index, a path node, the root.
      const changed = { ...proof.entry, data: { ...proof.entry.data, tampered: true } };
      assert.equal(verifyAuditInclusion(proof, signed.payload, changed), false);
      assert.equal(verifyAuditInclusion({ ...proof, leaf_index: (index + 1) % size }, signed.payload), false);
      if (proof.audit_path.length > 0) {
        const path = [...proof.audit_path];
        path[0] = flipHex(path[0]);
        assert.equal(verifyAuditInclusion({ ...proof, audit_path: path }, signed.payload), false);
      }
      assert.equal(verifyAuditInclusion(proof, { ...signed.payload, root_hash: flipHex(signed.payload.root_hash) }), false);
    }
    // Default size: the latest signed head.
    const latest = await t.api.get('/v1/audit/proof/inclusion?index=0');
    assert.equal(latest.body.tree_size, size);
    assert.equal((await t.api.get(`/v1/audit/proof/inclusion?index=${size}&size=${size}`)).status, 400);
    assert.equal((await t.api.get(`/v1/audit/proof/inclusion?index=0&size=${size + 1000}`)).status, 400);
  });

  test('consistency proofs between two signed heads verify, and fail when tampered', async () => {
    const older = await head();
    await createAndApprove(t.api, t.serverId, device, 'A later request');
    const newer = await head();
    assert.ok(newer.payload.tree_size > older.payload.tree_size);
    assert.equal(verifyTreeHead(newer, serverKey), true);
    const res = await t.api.get(`/v1/audit/proof/consistency?from=${older.payload.tree_size}&to=${newer.payload.tree_size}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const proof = res.body;
    assert.equal(proof.from_root, older.payload.root_hash);
    assert.equal(proof.to_root, newer.payload.root_hash);
    assert.deepEqual(proof.from_tree_head, older);
    assert.equal(verifyAuditConsistency(proof, older.payload, newer.payload), true);
    assert.equal(verifyConsistency(proof.from, proof.to, older.payload.root_hash, newer.payload.root_hash, proof.proof), true);
    // A rewritten history: an older root that is not a prefix of the newer tree.
    assert.equal(verifyAuditConsistency(proof, { ...older.payload, root_hash: flipHex(older.payload.root_hash) }, newer.payload), false);
    const path = [...proof.proof];
    path[path.length - 1] = flipHex(path[path.length - 1]);
    assert.equal(verifyAuditConsistency({ ...proof, proof: path }, older.payload, newer.payload), false);
    assert.equal(verifyAuditConsistency({ ...proof, proof: proof.proof.slice(1) }, older.payload, newer.payload), false);
    // Default `to`: the latest signed head; bad ranges are refused.
    assert.equal((await t.api.get(`/v1/audit/proof/consistency?from=1`)).body.to, newer.payload.tree_size);
    assert.equal((await t.api.get('/v1/audit/proof/consistency?from=0&to=2')).status, 400);
    assert.equal((await t.api.get('/v1/audit/proof/consistency?from=3&to=2')).status, 400);
  });

  test('each organisation has its own log', async () => {
    const other = await createTenant(t.server.db, 'Other Org');
    const api = new Api(t.server.url, (await createApiKey(t.server.db, other.id, 'other', 'live')).key);
    const entries = await all(api);
    assert.deepEqual(
      entries.map((e) => [e.leaf_index, e.type, e.tenant_id]),
      [[0, 'apikey.created', other.id]],
    );
    const signed = await head(api);
    assert.equal(signed.payload.tenant_id, other.id);
    assert.equal(signed.payload.tree_size, 1);
    assert.equal(signed.payload.root_hash, entries[0].leaf_hash);
    assert.equal((await api.get(`/v1/audit?request_id=${approvedId}`)).body.data.length, 0);
  });

  test('the integrator signs tree heads by itself once the log grows', async () => {
    const before = (await head()).payload.tree_size;
    const created = await t.api.post('/v1/mpa/requests', oneGroupRequest(device));
    await t.api
      .withKey(null)
      .post(
        `/v1/mpa/requests/${created.body.request_id}/decisions`,
        device.decisionBody(t.serverId, created.body.request_id, actionDigest(created.body.action), 'deny'),
      );
    await waitFor(
      async () => {
        const rows = await t.server.db.query<{ n: number | string }>('SELECT max(tree_size) AS n FROM audit_tree_heads');
        return Number(rows[0]?.n) >= before + 3;
      },
      `a signed head of at least ${before + 3} entries`,
    );
  });
});
