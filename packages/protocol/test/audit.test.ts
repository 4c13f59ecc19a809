import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  DomainTag,
  auditLeafData,
  auditLeafHash,
  encodePublicKey,
  generateP256KeyPair,
  merkleEmptyRoot,
  merkleLeafHash,
  merkleNodeHash,
  signPayload,
  verifyAuditConsistency,
  verifyAuditInclusion,
  verifyConsistency,
  verifyInclusion,
  verifyTreeHead,
  type AuditLeafEntry,
} from '../src/index.js';
import type { TreeHead } from '../src/wire/index.js';

const ENTRY: AuditLeafEntry = {
  leaf_index: 0,
  tenant_id: '3f2a8c1e-5b7d-4e9f-a1c2-d3e4f5a6b7c8',
  type: 'mpa.decision',
  request_id: '9b1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f',
  data: { decision: 'approve', group: 'Security', fingerprint: 'ab'.repeat(32) },
  created_at: '2026-01-31T12:00:00.000Z',
};

test('leaf encoding, byte for byte (the example of docs/audit.md)', () => {
  assert.equal(
    auditLeafData(ENTRY).toString('utf8'),
    `{"created_at":"2026-01-31T12:00:00.000Z","data":{"decision":"approve","fingerprint":"${'ab'.repeat(32)}","group":"Security"},` +
      '"leaf_index":0,"request_id":"9b1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f","tenant_id":"3f2a8c1e-5b7d-4e9f-a1c2-d3e4f5a6b7c8","type":"mpa.decision"}',
  );
  assert.equal(auditLeafHash(ENTRY), '751f4865c7720be7285390fd58c537cabfef14f251f3ef77a3a478856c4457b1');
  assert.equal(
    auditLeafHash(ENTRY),
    createHash('sha256')
      .update(Buffer.from([0]))
      .update(auditLeafData(ENTRY))
      .digest('hex'),
  );
  // Fields outside the leaf are ignored; every field inside changes the hash.
  assert.equal(auditLeafHash({ ...ENTRY, id: 7, leaf_hash: 'x' } as AuditLeafEntry), auditLeafHash(ENTRY));
  for (const change of [
    { leaf_index: 1 },
    { type: 'mpa.created' },
    { request_id: null },
    { data: {} },
    { created_at: '2026-01-31T12:00:00.001Z' },
  ]) {
    assert.notEqual(auditLeafHash({ ...ENTRY, ...change }), auditLeafHash(ENTRY), JSON.stringify(change));
  }
});

test('RFC 6962 primitives', () => {
  assert.equal(merkleEmptyRoot().toString('hex'), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  // The CT reference tree's first leaf (empty data) and the root of the first two leaves.
  const l0 = merkleLeafHash(Buffer.alloc(0));
  const l1 = merkleLeafHash(Buffer.from([0]));
  assert.equal(l0.toString('hex'), '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
  assert.equal(merkleNodeHash(l0, l1).toString('hex'), 'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125');
});

test('verifiers take hashes as bytes or hex, and never throw on junk', () => {
  const leaves = [0, 1, 2].map((i) => merkleLeafHash(Buffer.from([i])));
  const root = merkleNodeHash(merkleNodeHash(leaves[0]!, leaves[1]!), leaves[2]!);
  const proof = [leaves[1]!, leaves[2]!];
  assert.equal(verifyInclusion(leaves[0]!, 0, 3, proof, root), true);
  assert.equal(
    verifyInclusion(
      leaves[0]!.toString('hex'),
      0,
      3,
      proof.map((p) => p.toString('hex').toUpperCase()),
      root.toString('hex'),
    ),
    true,
  );
  assert.equal(
    verifyInclusion(
      new Uint8Array(leaves[0]!),
      0,
      3,
      proof.map((p) => new Uint8Array(p)),
      new Uint8Array(root),
    ),
    true,
  );
  for (const junk of [null, undefined, 42, 'zz', {}, [1, 2]] as unknown[]) {
    assert.equal(verifyInclusion(junk as string, 0, 3, proof, root), false);
    assert.equal(verifyInclusion(leaves[0]!, 0, 3, junk as string[], root), false);
    assert.equal(verifyConsistency(1, 3, junk as string, root, proof), false);
    assert.equal(verifyConsistency(1, 3, leaves[0]!, root, junk as string[]), false);
  }
  assert.equal(verifyConsistency(1, 3, leaves[0]!, root, proof), true);
});

test('tree heads: signed under their own domain tag', () => {
  const { privateKey, publicKey } = generateP256KeyPair();
  const key = encodePublicKey(publicKey);
  const payload: TreeHead = {
    purpose: 'audit-tree-head',
    server_id: 'cd'.repeat(32),
    tenant_id: ENTRY.tenant_id,
    tree_size: 1,
    root_hash: auditLeafHash(ENTRY),
    timestamp: 1_769_860_800_000,
  };
  const signed = { payload, signature: signPayload(DomainTag.treeHead, payload, privateKey) };
  assert.equal(DomainTag.treeHead, 'SIGIL-TREE-HEAD-V1');
  assert.equal(verifyTreeHead(signed, key), true);
  assert.equal(verifyTreeHead(signed, publicKey), true);
  assert.equal(verifyTreeHead({ ...signed, signature: signPayload(DomainTag.serverMessage, payload, privateKey) }, key), false);
  assert.equal(verifyTreeHead({ ...signed, payload: { ...payload, tree_size: 2 } }, key), false);
  assert.equal(verifyTreeHead({ ...signed, payload: { ...payload, purpose: 'other' as 'audit-tree-head' } }, key), false);
  assert.equal(verifyTreeHead(null as never, key), false);

  // A one-leaf log: the entry's inclusion proof is empty and the root is its leaf hash.
  assert.equal(verifyAuditInclusion({ leaf_index: 0, tree_size: 1, leaf_hash: payload.root_hash, audit_path: [] }, payload, ENTRY), true);
  assert.equal(
    verifyAuditInclusion({ leaf_index: 0, tree_size: 1, leaf_hash: payload.root_hash, audit_path: [] }, payload, { ...ENTRY, type: 'x' }),
    false,
  );
  assert.equal(verifyAuditInclusion({ leaf_index: 0, tree_size: 2, leaf_hash: payload.root_hash, audit_path: [] }, payload), false);
  assert.equal(verifyAuditConsistency({ from: 1, to: 1, proof: [] }, payload, payload), true);
  assert.equal(verifyAuditConsistency({ from: 1, to: 1, proof: [] }, payload, { ...payload, tenant_id: 'other' }), false);
});
