import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendLeaf, Frontier, frontierRoot } from '../../src/audit/frontier.js';
import { emptyRoot, leafHash, rootHash } from '../../src/audit/merkle.js';

test('the compact range gives the RFC 6962 root of every prefix, with one node per set bit of the size', () => {
  const leaves = Array.from({ length: 300 }, (_, i) => leafHash(Buffer.from(`leaf ${i}`)));
  assert.deepEqual(frontierRoot([]), emptyRoot());
  const f = new Frontier();
  let nodes: Buffer[] = [];
  for (let n = 1; n <= leaves.length; n++) {
    f.append(leaves[n - 1]!);
    nodes = appendLeaf(nodes, n - 1, leaves[n - 1]!);
    assert.deepEqual(f.root(), rootHash(leaves.slice(0, n)), `size ${n}`);
    assert.deepEqual(frontierRoot(nodes), rootHash(leaves.slice(0, n)), `size ${n}`);
    assert.equal(nodes.length, n.toString(2).replaceAll('0', '').length);
  }
});
