/**
 * `sigil audit verify`: recomputes a tenant's log from storage alone and checks it against every
 * signed tree head. Read-only.
 */
import type { KeyObject } from 'node:crypto';
import { auditLeafHash, verifyTreeHead, type SignedTreeHead } from '@sigilauth/protocol';
import type { Queryable } from '../storage/database.js';
import { Frontier } from './frontier.js';
import { ENTRY_COLUMNS, listTreeHeads, toEntry } from './store.js';

export type VerifyProblemKind = 'changed' | 'removed' | 'reordered' | 'tree_head' | 'log_state';

export interface VerifyProblem {
  kind: VerifyProblemKind;
  /** The first leaf index concerned, for ordering (the problem's "position" in the log). */
  leafIndex: number;
  entryId: number | null;
  message: string;
}

export interface VerifyReport {
  tenantId: string;
  entries: number;
  /** Entries committed but not yet given a leaf index (the server integrates them within seconds). */
  pending: number;
  treeHeads: number;
  rootHash: string;
  problems: VerifyProblem[];
}

const BATCH = 5000;

export async function verifyAuditLog(db: Queryable, tenantId: string, serverPublicKey: KeyObject | string): Promise<VerifyReport> {
  const problems: VerifyProblem[] = [];
  const heads = await listTreeHeads(db, tenantId);
  let headIndex = 0;
  let lastGoodHead = 0;
  const frontier = new Frontier();
  let expected = 0;
  let chainBroken = false;
  let previousId: number | null = null;

  for (const head of heads) {
    if (!verifyTreeHead(head, serverPublicKey)) {
      problems.push({
        kind: 'tree_head',
        leafIndex: head.payload.tree_size,
        entryId: null,
        message: `tree head of size ${head.payload.tree_size} signed at ${iso(head)} has an invalid signature (forged or altered tree head)`,
      });
    }
  }

  const checkHeadsAt = (size: number) => {
    while (headIndex < heads.length && (heads[headIndex] as SignedTreeHead).payload.tree_size === size) {
      const head = heads[headIndex++] as SignedTreeHead;
      const root = frontier.root().toString('hex');
      if (chainBroken || root !== head.payload.root_hash) {
        problems.push({
          kind: 'tree_head',
          leafIndex: lastGoodHead,
          entryId: null,
          message:
            `the log does not match the tree head of size ${size} signed at ${iso(head)}: ` +
            `an entry at leaf index ${lastGoodHead}..${size - 1} was changed, removed or reordered`,
        });
      } else {
        lastGoodHead = size;
      }
    }
  };

  let after = -1;
  for (;;) {
    const rows = await db.query<Parameters<typeof toEntry>[0]>(
      `SELECT ${ENTRY_COLUMNS} FROM audit_entries WHERE tenant_id = $1 AND leaf_index > $2 ORDER BY leaf_index, id LIMIT $3`,
      [tenantId, after, BATCH],
    );
    for (const row of rows) {
      const entry = toEntry(row);
      const index = entry.leaf_index as number;
      checkHeadsAt(frontier.size);
      if (index < expected) {
        problems.push({
          kind: 'reordered',
          leafIndex: index,
          entryId: entry.id,
          message: `entry ${entry.id} claims leaf index ${index}, which entry ${previousId} already holds: entries were duplicated or reordered`,
        });
        continue;
      }
      if (index > expected) {
        problems.push({
          kind: 'removed',
          leafIndex: expected,
          entryId: null,
          message:
            index - expected === 1
              ? `the entry at leaf index ${expected} is missing (removed); the next entry present is ${entry.id} at leaf index ${index}`
              : `the entries at leaf index ${expected}..${index - 1} are missing (removed); the next entry present is ${entry.id} at leaf index ${index}`,
        });
        chainBroken = true;
        expected = index;
      }
      const recomputed = auditLeafHash({ ...entry, leaf_index: index });
      if (entry.leaf_hash !== recomputed) {
        problems.push({
          kind: 'changed',
          leafIndex: index,
          entryId: entry.id,
          message: `entry ${entry.id} at leaf index ${index} (${entry.type}) was changed or moved: its content no longer matches its leaf hash`,
        });
      }
      // Roots are built from the stored leaf hashes: an entry whose content was changed is
      // reported above; stored hashes that were rewritten to match show up against the tree heads.
      frontier.append(Buffer.from(entry.leaf_hash && /^[0-9a-f]{64}$/.test(entry.leaf_hash) ? entry.leaf_hash : recomputed, 'hex'));
      expected = index + 1;
      previousId = entry.id;
    }
    if (rows.length < BATCH) break;
    after = Number(rows[rows.length - 1]!.leaf_index);
  }
  checkHeadsAt(frontier.size);
  const count = expected;
  for (; headIndex < heads.length; headIndex++) {
    const head = heads[headIndex] as SignedTreeHead;
    if (head.payload.tree_size > count) {
      problems.push({
        kind: 'removed',
        leafIndex: count,
        entryId: null,
        message: `the tree head of size ${head.payload.tree_size} signed at ${iso(head)} covers leaf indexes up to ${head.payload.tree_size - 1}, but the log ends at leaf index ${count - 1}: entries were removed`,
      });
    }
  }

  const [state] = await db.query<{ tree_size: number | string; root_hash: string }>(
    `SELECT tree_size, encode(root_hash, 'hex') AS root_hash FROM audit_logs WHERE tenant_id = $1`,
    [tenantId],
  );
  const root = frontier.root().toString('hex');
  if (state && (Number(state.tree_size) !== count || (!chainBroken && state.root_hash !== root))) {
    problems.push({
      kind: 'log_state',
      leafIndex: Math.min(Number(state.tree_size), count),
      entryId: null,
      message: `the stored log state (size ${state.tree_size}, root ${state.root_hash}) does not match the entries (size ${count}, root ${root})`,
    });
  }
  const [pending] = await db.query<{ n: number | string }>(
    'SELECT count(*) AS n FROM audit_entries WHERE tenant_id = $1 AND leaf_index IS NULL',
    [tenantId],
  );
  // Problems that name an entry first, in log order; then what only the tree heads reveal.
  const general = (p: VerifyProblem) => (p.kind === 'tree_head' || p.kind === 'log_state' ? 1 : 0);
  problems.sort((a, b) => general(a) - general(b) || a.leafIndex - b.leafIndex);
  return { tenantId, entries: count, pending: Number(pending?.n ?? 0), treeHeads: heads.length, rootHash: root, problems };
}

function iso(head: SignedTreeHead): string {
  return new Date(head.payload.timestamp).toISOString();
}
