/**
 * What an insider with write access to the database does to the audit log without leaving a
 * trace inside it: cut the log short, or rewrite an entry, and make the leaf hashes, the
 * integrator's tree state and the signed tree heads agree with the result (the signing key is in
 * the same database, so heads could even be re-signed). Shared by the audit attack tests.
 */
import { auditLeafHash } from '@sigilauth/protocol';
import { appendLeaf, frontierRoot } from '../../src/audit/frontier.js';
import { ENTRY_COLUMNS, toEntry } from '../../src/audit/store.js';
import type { Queryable } from '../../src/storage/database.js';

/** Rebuilds the tree state from the stored leaf hashes and drops every head from `dropHeadsFrom` on. */
async function rebuildTreeState(db: Queryable, tenantId: string, dropHeadsFrom: number): Promise<void> {
  const rows = await db.query<{ leaf_hash: string }>(
    `SELECT encode(leaf_hash, 'hex') AS leaf_hash FROM audit_entries WHERE tenant_id = $1 AND leaf_index IS NOT NULL ORDER BY leaf_index`,
    [tenantId],
  );
  let frontier: Buffer[] = [];
  rows.forEach(({ leaf_hash }, size) => (frontier = appendLeaf(frontier, size, Buffer.from(leaf_hash, 'hex'))));
  await db.query(`DELETE FROM audit_tree_heads WHERE tenant_id = $1 AND tree_size >= $2`, [tenantId, dropHeadsFrom]);
  await db.query(`UPDATE audit_logs SET tree_size = $2, root_hash = decode($3, 'hex'), frontier = $4::text[] WHERE tenant_id = $1`, [
    tenantId,
    rows.length,
    frontierRoot(frontier).toString('hex'),
    frontier.map((n) => n.toString('hex')),
  ]);
}

/**
 * Deletes the entries from leaf index `cut` on, and every trace that they existed: the requests
 * they created, the decisions and outcomes they recorded, the signed heads that covered them.
 */
export async function truncateLog(db: Queryable, tenantId: string, cut: number): Promise<void> {
  const removed = await db.query<{ type: string; request_id: string | null; data: { fingerprint?: string } }>(
    'SELECT type, request_id, data FROM audit_entries WHERE tenant_id = $1 AND (leaf_index >= $2 OR leaf_index IS NULL) ORDER BY id DESC',
    [tenantId, cut],
  );
  for (const { type, request_id: id, data } of removed) {
    if (id === null) continue;
    if (type === 'mpa.completed' || type === 'mpa.cancelled') {
      await db.query(`UPDATE mpa_requests SET status = 'pending', groups_satisfied = '[]', completed_at = NULL WHERE id = $1`, [id]);
    } else if (type === 'mpa.decision') {
      await db.query('DELETE FROM mpa_flags WHERE request_id = $1 AND fingerprint = $2', [id, data.fingerprint]);
      await db.query('DELETE FROM mpa_decisions WHERE request_id = $1 AND fingerprint = $2', [id, data.fingerprint]);
    } else if (type === 'mpa.created') {
      for (const table of ['mpa_flags', 'mpa_decisions', 'mpa_approvers', 'webhook_deliveries', 'events'])
        await db.query(`DELETE FROM ${table} WHERE request_id = $1`, [id]);
      await db.query('DELETE FROM mpa_requests WHERE id = $1', [id]);
    }
  }
  await db.query('DELETE FROM audit_entries WHERE tenant_id = $1 AND (leaf_index >= $2 OR leaf_index IS NULL)', [tenantId, cut]);
  await rebuildTreeState(db, tenantId, cut + 1);
}

/** Changes the data of the entry at a leaf index, with a matching leaf hash and tree state. */
export async function rewriteEntry(db: Queryable, tenantId: string, leafIndex: number, change: Record<string, unknown>): Promise<void> {
  const [row] = await db.query<Parameters<typeof toEntry>[0]>(
    `SELECT ${ENTRY_COLUMNS} FROM audit_entries WHERE tenant_id = $1 AND leaf_index = $2`,
    [tenantId, leafIndex],
  );
  if (!row) throw new Error(`no entry at leaf index ${leafIndex}`);
  const entry = toEntry(row);
  const data = { ...entry.data, ...change };
  await db.query(`UPDATE audit_entries SET data = $3, leaf_hash = decode($4, 'hex') WHERE tenant_id = $1 AND leaf_index = $2`, [
    tenantId,
    leafIndex,
    JSON.stringify(data),
    auditLeafHash({ ...entry, leaf_index: leafIndex, data }),
  ]);
  await rebuildTreeState(db, tenantId, leafIndex + 1);
}
