/**
 * A compact range (the "frontier" of an append-only Merkle tree): the roots of the perfect
 * subtrees that make up a tree of n leaves, largest first, one per set bit of n. Appending a
 * leaf and computing the RFC 6962 root take O(log n) time and space, so the integrator never
 * has to read old leaves again.
 */
import { emptyRoot, nodeHash } from './merkle.js';

/** Returns the frontier of the tree of size + 1 leaves, given that of the first `size` leaves. */
export function appendLeaf(frontier: readonly Buffer[], size: number, leaf: Buffer): Buffer[] {
  const next = [...frontier];
  let h = leaf;
  let s = size;
  while (s % 2 === 1) {
    h = nodeHash(next.pop() as Buffer, h);
    s = Math.floor(s / 2);
  }
  next.push(h);
  return next;
}

/** RFC 6962 Merkle Tree Hash of the tree a frontier describes (the empty root for no leaves). */
export function frontierRoot(frontier: readonly Buffer[]): Buffer {
  if (frontier.length === 0) return emptyRoot();
  let root = frontier[frontier.length - 1] as Buffer;
  for (let i = frontier.length - 2; i >= 0; i--) root = nodeHash(frontier[i] as Buffer, root);
  return root;
}

/** Incremental root computation over a stream of leaves. */
export class Frontier {
  private nodes: Buffer[] = [];
  size = 0;

  append(leaf: Buffer): void {
    this.nodes = appendLeaf(this.nodes, this.size, leaf);
    this.size++;
  }

  root(): Buffer {
    return frontierRoot(this.nodes);
  }
}
