/**
 * `sigil audit verify`: recomputes a tenant's log from storage alone and checks it against every
 * signed tree head. Read-only.
 */
import type { KeyObject } from 'node:crypto';
import { auditLeafHash, verifyConsistency, verifyTreeHead } from '@sigilauth/protocol';
import type { SignedTreeHead } from '@sigilauth/protocol/wire';
import type { Queryable } from '../storage/database.js';
import { Frontier } from './frontier.js';
import { consistencyProof } from './merkle.js';
import { ENTRY_COLUMNS, listTreeHeads, toEntry } from './store.js';

export type VerifyProblemKind = 'changed' | 'removed' | 'reordered' | 'tree_head' | 'log_state' | 'saved_head' | 'cross_check';

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
  /** Saved tree heads (--since-head) of this tenant that the log was checked against. */
  savedHeads: number;
  rootHash: string;
  problems: VerifyProblem[];
}

export interface VerifyOptions {
  /**
   * Tree heads saved outside the database (from GET /v1/audit/tree-head, sigil audit head or an
   * audit.head webhook). The log must be a consistent extension of each (RFC 6962 consistency
   * proof from the saved head to the current log); a log cut short or rewritten is not.
   */
  savedHeads?: SignedTreeHead[];
}

const BATCH = 5000;

export async function verifyAuditLog(
  db: Queryable,
  tenantId: string,
  serverPublicKey: KeyObject | string,
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  const problems: VerifyProblem[] = [];
  const saved = (options.savedHeads ?? []).filter((h) => h?.payload?.tenant_id === tenantId);
  // Leaf hashes are kept only when saved heads need consistency proofs.
  const leaves: Buffer[] | null = saved.length > 0 ? [] : null;
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
      const leaf = Buffer.from(entry.leaf_hash && /^[0-9a-f]{64}$/.test(entry.leaf_hash) ? entry.leaf_hash : recomputed, 'hex');
      frontier.append(leaf);
      leaves?.push(leaf);
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
  if (leaves) problems.push(...checkSavedHeads(saved, leaves, root, serverPublicKey, chainBroken));
  problems.push(...(await crossCheck(db, tenantId)));
  const [pending] = await db.query<{ n: number | string }>(
    'SELECT count(*) AS n FROM audit_entries WHERE tenant_id = $1 AND leaf_index IS NULL',
    [tenantId],
  );
  // Problems that name an entry first, in log order; then what only the tree heads reveal.
  const general = (p: VerifyProblem) =>
    p.kind === 'cross_check' ? 2 : p.kind === 'tree_head' || p.kind === 'log_state' || p.kind === 'saved_head' ? 1 : 0;
  problems.sort((a, b) => general(a) - general(b) || a.leafIndex - b.leafIndex);
  return {
    tenantId,
    entries: count,
    pending: Number(pending?.n ?? 0),
    treeHeads: heads.length,
    savedHeads: saved.length,
    rootHash: root,
    problems,
  };
}

function iso(head: SignedTreeHead): string {
  return new Date(head.payload.timestamp).toISOString();
}

/**
 * Each saved head must be signed by the server key, no larger than the log, and the log must
 * extend it: the RFC 6962 consistency proof from the saved head's size to the current log,
 * computed from the stored leaves, must verify against the saved root and the current root,
 * exactly as a third party holding the saved head would check it.
 */
function checkSavedHeads(
  saved: SignedTreeHead[],
  leaves: Buffer[],
  root: string,
  serverPublicKey: KeyObject | string,
  chainBroken: boolean,
): VerifyProblem[] {
  const problems: VerifyProblem[] = [];
  const size = leaves.length;
  for (const head of saved) {
    const { tree_size: savedSize, root_hash: savedRoot } = head.payload;
    const what = `the saved tree head of size ${savedSize} signed at ${iso(head)}`;
    if (!verifyTreeHead(head, serverPublicKey)) {
      problems.push({
        kind: 'saved_head',
        leafIndex: savedSize,
        entryId: null,
        message: `${what} is not signed by the server key (forged, altered, or the server key was replaced)`,
      });
      continue;
    }
    if (savedSize > size) {
      problems.push({
        kind: 'saved_head',
        leafIndex: size,
        entryId: null,
        message: `${what} covers ${savedSize} entries but the log has ${size}: entries were removed from its end (the log was truncated)`,
      });
      continue;
    }
    const consistent =
      !chainBroken &&
      (savedSize === 0 ||
        verifyConsistency(savedSize, size, savedRoot, root, savedSize === size ? [] : consistencyProof(leaves, savedSize, size)));
    if (!consistent) {
      problems.push({
        kind: 'saved_head',
        leafIndex: 0,
        entryId: null,
        message: `the log of ${size} entries is not a consistent extension of ${what}: entries it covered were changed, removed or reordered and the log rebuilt`,
      });
    }
  }
  return problems;
}

/**
 * Requests and decisions in storage against their audit entries: each request has its
 * mpa.created entry, each decision its mpa.decision entry (a decision held for timing privacy gets it when released), each finished request an entry with
 * its outcome; and each such entry names a request or decision that exists. A row written or
 * changed behind the server's back (a forged approval, a flipped outcome) shows up here even
 * though the log itself is intact.
 */
async function crossCheck(db: Queryable, tenantId: string): Promise<VerifyProblem[]> {
  const rows = await db.query<{ message: string; leaf_index: number | string | null; id: number | string | null }>(
    `SELECT 'request ' || r.id || ' is in storage but has no mpa.created audit entry' AS message, NULL::bigint AS leaf_index, NULL::bigint AS id
       FROM mpa_requests r
      WHERE r.tenant_id = $1
        AND NOT EXISTS (SELECT 1 FROM audit_entries a WHERE a.tenant_id = $1 AND a.request_id = r.id AND a.type = 'mpa.created')
     UNION ALL
     SELECT 'request ' || r.id || ' is ' || r.status || ' in storage but the log records no such outcome', NULL, NULL
       FROM mpa_requests r
      WHERE r.tenant_id = $1 AND r.status <> 'pending'
        AND NOT EXISTS (SELECT 1 FROM audit_entries a WHERE a.tenant_id = $1 AND a.request_id = r.id
                          AND a.type IN ('mpa.completed', 'mpa.cancelled') AND a.data->>'status' = r.status)
     UNION ALL
     SELECT 'decision (' || d.decision || ') by device ' || d.fingerprint || ' on request ' || d.request_id || ' is in storage but has no mpa.decision audit entry', NULL, NULL
       FROM mpa_decisions d JOIN mpa_requests r ON r.id = d.request_id
      WHERE r.tenant_id = $1 AND NOT d.held
        AND NOT EXISTS (SELECT 1 FROM audit_entries a WHERE a.tenant_id = $1 AND a.request_id = d.request_id AND a.type = 'mpa.decision'
                          AND a.data->>'fingerprint' = d.fingerprint AND a.data->>'decision' = d.decision)
     UNION ALL
     SELECT 'audit entry ' || a.id || ' (' || a.type || ') names request ' || coalesce(a.request_id::text, 'none') || ', which is not in storage', a.leaf_index, a.id
       FROM audit_entries a
      WHERE a.tenant_id = $1 AND a.type IN ('mpa.created', 'mpa.decision', 'mpa.completed', 'mpa.cancelled')
        AND NOT EXISTS (SELECT 1 FROM mpa_requests r WHERE r.id = a.request_id AND r.tenant_id = $1)
     UNION ALL
     SELECT 'audit entry ' || a.id || ' records a decision (' || coalesce(a.data->>'decision', '?') || ') by device ' || coalesce(a.data->>'fingerprint', '?') ||
            ' on request ' || a.request_id || ' that is not in storage', a.leaf_index, a.id
       FROM audit_entries a
      WHERE a.tenant_id = $1 AND a.type = 'mpa.decision'
        AND EXISTS (SELECT 1 FROM mpa_requests r WHERE r.id = a.request_id)
        AND NOT EXISTS (SELECT 1 FROM mpa_decisions d WHERE d.request_id = a.request_id
                          AND d.fingerprint = a.data->>'fingerprint' AND d.decision = a.data->>'decision')`,
    [tenantId],
  );
  return rows.map((r) => ({
    kind: 'cross_check' as const,
    leafIndex: r.leaf_index === null ? Number.MAX_SAFE_INTEGER : Number(r.leaf_index),
    entryId: r.id === null ? null : Number(r.id),
    message: r.message,
  }));
}
