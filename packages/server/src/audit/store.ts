/**
 * The audit log's storage side: giving entries their leaf index (the integrator), signing tree
 * heads, listing entries and building proofs.
 */
import { auditLeafHash, toLowS, type AuditLeafEntry } from '@sigilauth/protocol';
import type { SignedTreeHead, TreeHead } from '@sigilauth/protocol/wire';
import { ApiError } from '../http/errors.js';
import type { Database, Queryable } from '../storage/database.js';
import { appendLeaf, frontierRoot } from './frontier.js';
import { consistencyProof, emptyRoot, inclusionProof, rootHash } from './merkle.js';
import { recordEvent } from '../events/outbox.js';
import { hasSubscribers } from '../webhooks/deliveries.js';
import { AuditLogTamperedError, readLogState, type AuditWitness } from './witness.js';

/** One stored entry as the API, the CLI and the verifier see it. */
export interface AuditEntryView extends AuditLeafEntry {
  id: number;
  leaf_index: number;
  leaf_hash: string | null;
}

/** A not yet integrated entry has leaf_index null. */
export type StoredEntry = Omit<AuditEntryView, 'leaf_index'> & { leaf_index: number | null };

/** Every column needed to rebuild an entry's leaf; created_at formatted by the database, so any driver reads the same text. */
export const ENTRY_COLUMNS = `id, leaf_index, encode(leaf_hash, 'hex') AS leaf_hash, tenant_id, type, request_id, data,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS created_at`;

interface EntryRow {
  id: number | string;
  leaf_index: number | string | null;
  leaf_hash: string | null;
  tenant_id: string;
  type: string;
  request_id: string | null;
  data: Record<string, unknown>;
  created_at: string;
}

export function toEntry(row: EntryRow): StoredEntry {
  return {
    id: Number(row.id),
    leaf_index: row.leaf_index === null ? null : Number(row.leaf_index),
    leaf_hash: row.leaf_hash,
    tenant_id: row.tenant_id,
    type: row.type,
    request_id: row.request_id,
    data: row.data,
    created_at: row.created_at,
  };
}

export interface LogState {
  treeSize: number;
  rootHash: string;
}

const EMPTY_ROOT_HEX = emptyRoot().toString('hex');
const INTEGRATE_BATCH = 1000;

/**
 * Gives every committed entry of the tenant that has none the next leaf index, in id order, with
 * its leaf hash, and advances the tenant's tree state. The tenant's audit_logs row is locked for
 * the duration, so instances integrating at once serialise and the indexes stay contiguous.
 * An entry committed late (with an id lower than one already integrated) simply comes next:
 * the leaf index is the commit order the log attests.
 */
export async function integrateTenant(db: Database, tenantId: string): Promise<LogState> {
  for (;;) {
    const { state, more } = await db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO audit_logs (tenant_id, tree_size, root_hash) VALUES ($1, 0, decode($2, 'hex')) ON CONFLICT (tenant_id) DO NOTHING`,
        [tenantId, EMPTY_ROOT_HEX],
      );
      const [log] = await tx.query<{ tree_size: number | string; root_hash: string; frontier: string[] }>(
        `SELECT tree_size, encode(root_hash, 'hex') AS root_hash, frontier FROM audit_logs WHERE tenant_id = $1 FOR UPDATE`,
        [tenantId],
      );
      if (!log) throw new Error('audit log state vanished');
      const rows = await tx.query<EntryRow>(
        `SELECT ${ENTRY_COLUMNS} FROM audit_entries WHERE tenant_id = $1 AND leaf_index IS NULL ORDER BY id LIMIT $2`,
        [tenantId, INTEGRATE_BATCH],
      );
      let size = Number(log.tree_size);
      if (rows.length === 0) return { state: { treeSize: size, rootHash: log.root_hash }, more: false };
      let frontier: Buffer[] = log.frontier.map((h) => Buffer.from(h, 'hex'));
      const ids: number[] = [];
      const indexes: number[] = [];
      const hashes: string[] = [];
      for (const row of rows) {
        const entry = toEntry(row);
        const hash = auditLeafHash({ ...entry, leaf_index: size });
        frontier = appendLeaf(frontier, size, Buffer.from(hash, 'hex'));
        ids.push(entry.id);
        indexes.push(size);
        hashes.push(hash);
        size++;
      }
      await tx.query(
        `UPDATE audit_entries a SET leaf_index = u.idx, leaf_hash = decode(u.h, 'hex')
           FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS u(id, idx, h)
          WHERE a.id = u.id AND a.leaf_index IS NULL`,
        [ids, indexes, hashes],
      );
      const root = frontierRoot(frontier).toString('hex');
      await tx.query(
        `UPDATE audit_logs SET tree_size = $2, root_hash = decode($3, 'hex'), frontier = $4::text[], updated_at = now() WHERE tenant_id = $1`,
        [tenantId, size, root, frontier.map((b) => b.toString('hex'))],
      );
      return { state: { treeSize: size, rootHash: root }, more: rows.length === INTEGRATE_BATCH };
    });
    if (!more) return state;
  }
}

/** Tenants that have entries waiting for a leaf index. */
export async function tenantsWithPendingEntries(db: Queryable): Promise<string[]> {
  const rows = await db.query<{ tenant_id: string }>('SELECT DISTINCT tenant_id FROM audit_entries WHERE leaf_index IS NULL');
  return rows.map((r) => r.tenant_id);
}

/** Tenants whose integrated log has grown past their latest signed tree head. */
export async function tenantsNeedingTreeHead(db: Queryable): Promise<string[]> {
  const rows = await db.query<{ tenant_id: string }>(
    `SELECT l.tenant_id FROM audit_logs l
      WHERE l.tree_size > coalesce((SELECT max(h.tree_size) FROM audit_tree_heads h WHERE h.tenant_id = l.tenant_id), -1)`,
  );
  return rows.map((r) => r.tenant_id);
}

interface HeadRow {
  tenant_id: string;
  tree_size: number | string;
  root_hash: string;
  signed_at_ms: number | string;
  server_id: string;
  signature: string;
}

const HEAD_COLUMNS = `tenant_id, tree_size, encode(root_hash, 'hex') AS root_hash, signed_at_ms, server_id, signature`;

/**
 * Heads signed before signatures were made with low S may hold the high-S twin of the server's
 * signature (equally the server's, but verifiers accept only low S): read them as their twin.
 */
function lowS(signature: string): string {
  const bytes = Buffer.from(signature, 'base64');
  return bytes.length === 64 && bytes.toString('base64') === signature ? toLowS(bytes).toString('base64') : signature;
}

export function toSignedHead(row: HeadRow): SignedTreeHead {
  return {
    payload: {
      purpose: 'audit-tree-head',
      server_id: row.server_id,
      tenant_id: row.tenant_id,
      tree_size: Number(row.tree_size),
      root_hash: row.root_hash,
      timestamp: Number(row.signed_at_ms),
    },
    signature: lowS(row.signature),
  };
}

export async function latestTreeHead(db: Queryable, tenantId: string): Promise<SignedTreeHead | null> {
  const [row] = await db.query<HeadRow>(
    `SELECT ${HEAD_COLUMNS} FROM audit_tree_heads WHERE tenant_id = $1 ORDER BY tree_size DESC LIMIT 1`,
    [tenantId],
  );
  return row ? toSignedHead(row) : null;
}

export async function treeHeadAt(db: Queryable, tenantId: string, size: number): Promise<SignedTreeHead | null> {
  const [row] = await db.query<HeadRow>(`SELECT ${HEAD_COLUMNS} FROM audit_tree_heads WHERE tenant_id = $1 AND tree_size = $2`, [
    tenantId,
    size,
  ]);
  return row ? toSignedHead(row) : null;
}

export async function listTreeHeads(db: Queryable, tenantId: string): Promise<SignedTreeHead[]> {
  const rows = await db.query<HeadRow>(`SELECT ${HEAD_COLUMNS} FROM audit_tree_heads WHERE tenant_id = $1 ORDER BY tree_size`, [tenantId]);
  return rows.map(toSignedHead);
}

export type TreeHeadSigner = (head: TreeHead) => SignedTreeHead;

/** What signing a head needs: the key, and (in a server) the witness that refuses a log that went backwards. */
export interface TreeHeadSigning {
  sign: TreeHeadSigner;
  serverId: string;
  witness?: AuditWitness | undefined;
}

/**
 * Signs a tree head for the tenant's integrated log when it has grown past the latest signed
 * head and that head is at least minIntervalMs old (a first head, even of the empty tree, is
 * always signed). Returns the latest signed head afterwards. Never signs a log smaller than a
 * head already signed, nor (with a witness) one that does not extend what this process saw: it
 * raises the alarm and throws AuditLogTamperedError instead. Webhook endpoints subscribed to
 * `audit.head` receive every new head, so third parties can witness them.
 */
export async function signTreeHeadIfGrown(
  db: Database,
  signing: TreeHeadSigning,
  tenantId: string,
  now: number,
  minIntervalMs: number,
): Promise<SignedTreeHead | null> {
  // The latest head first: the log only grows, so a head read before the log can never be larger than it.
  const latest = await latestTreeHead(db, tenantId);
  const log = signing.witness ? await signing.witness.observe(db, tenantId) : await readLogState(db, tenantId);
  if (latest && latest.payload.tree_size > log.size) {
    const problem = `a signed tree head covers ${latest.payload.tree_size} entries but the log has ${log.size}: entries were removed from its end`;
    if (signing.witness) signing.witness.raise(tenantId, problem);
    throw new AuditLogTamperedError(problem);
  }
  if (latest && (latest.payload.tree_size >= log.size || now - latest.payload.timestamp < minIntervalMs)) return latest;
  const signed = signing.sign({
    purpose: 'audit-tree-head',
    server_id: signing.serverId,
    tenant_id: tenantId,
    tree_size: log.size,
    root_hash: log.root,
    timestamp: now,
  });
  await db.transaction(async (tx) => {
    const inserted = await tx.query(
      `INSERT INTO audit_tree_heads (tenant_id, tree_size, root_hash, signed_at_ms, server_id, signature)
       VALUES ($1, $2, decode($3, 'hex'), $4, $5, $6) ON CONFLICT (tenant_id, tree_size) DO NOTHING RETURNING tree_size`,
      [tenantId, log.size, log.root, now, signing.serverId, signed.signature],
    );
    if (inserted.length > 0 && (await hasSubscribers(tx, tenantId, 'audit.head'))) {
      await recordEvent(tx, tenantId, 'audit.head', { tree_head: signed, timestamp: new Date(now).toISOString() });
    }
  });
  return (await treeHeadAt(db, tenantId, log.size)) ?? signed;
}

export interface ListAuditOptions {
  requestId?: string | undefined;
  type?: string | undefined;
  since?: Date | undefined;
  until?: Date | undefined;
  limit: number;
  afterId?: number | undefined;
}

/** Entries oldest first, keyset-paginated by id. */
export async function listAuditEntries(db: Queryable, tenantId: string, o: ListAuditOptions) {
  const rows = await db.query<EntryRow>(
    `SELECT ${ENTRY_COLUMNS} FROM audit_entries
      WHERE tenant_id = $1
        AND ($2::uuid IS NULL OR request_id = $2)
        AND ($3::text IS NULL OR type = $3)
        AND ($4::timestamptz IS NULL OR created_at >= $4)
        AND ($5::timestamptz IS NULL OR created_at < $5)
        AND ($6::bigint IS NULL OR id > $6)
      ORDER BY id LIMIT $7`,
    [tenantId, o.requestId ?? null, o.type ?? null, o.since ?? null, o.until ?? null, o.afterId ?? null, o.limit + 1],
  );
  const page = rows.slice(0, o.limit).map(toEntry);
  const last = page[page.length - 1];
  return { data: page, next_cursor: rows.length > o.limit && last ? String(last.id) : null };
}

/** The leaf hashes of the first `size` leaves, checked to be contiguous. */
export async function loadLeafHashes(db: Queryable, tenantId: string, size: number): Promise<Buffer[]> {
  const rows = await db.query<{ leaf_index: number | string; leaf_hash: string }>(
    `SELECT leaf_index, encode(leaf_hash, 'hex') AS leaf_hash FROM audit_entries
      WHERE tenant_id = $1 AND leaf_index IS NOT NULL AND leaf_index < $2 ORDER BY leaf_index`,
    [tenantId, size],
  );
  const hashes: Buffer[] = [];
  for (const row of rows) {
    if (Number(row.leaf_index) !== hashes.length || !row.leaf_hash) {
      throw new ApiError('audit_log_damaged', `the audit log is damaged at leaf index ${hashes.length}; run sigil audit verify`);
    }
    hashes.push(Buffer.from(row.leaf_hash, 'hex'));
  }
  if (hashes.length !== size) {
    throw new ApiError('audit_log_damaged', `the audit log is damaged at leaf index ${hashes.length}; run sigil audit verify`);
  }
  return hashes;
}

export async function integratedSize(db: Queryable, tenantId: string): Promise<number> {
  const [row] = await db.query<{ tree_size: number | string }>('SELECT tree_size FROM audit_logs WHERE tenant_id = $1', [tenantId]);
  return row ? Number(row.tree_size) : 0;
}

export async function inclusion(db: Queryable, tenantId: string, index: number, size: number) {
  const available = await integratedSize(db, tenantId);
  if (size > available) throw new ApiError('invalid_request', `size ${size} is larger than the log (${available} entries)`);
  if (index >= size) throw new ApiError('invalid_request', `index must be below size (${size})`);
  const leaves = await loadLeafHashes(db, tenantId, size);
  const [row] = await db.query<EntryRow>(`SELECT ${ENTRY_COLUMNS} FROM audit_entries WHERE tenant_id = $1 AND leaf_index = $2`, [
    tenantId,
    index,
  ]);
  return {
    leaf_index: index,
    tree_size: size,
    leaf_hash: (leaves[index] as Buffer).toString('hex'),
    audit_path: inclusionProof(leaves, index, size).map((b) => b.toString('hex')),
    root_hash: rootHash(leaves).toString('hex'),
    entry: row ? toEntry(row) : null,
    tree_head: await treeHeadAt(db, tenantId, size),
  };
}

export async function consistency(db: Queryable, tenantId: string, from: number, to: number) {
  const available = await integratedSize(db, tenantId);
  if (to > available) throw new ApiError('invalid_request', `to ${to} is larger than the log (${available} entries)`);
  if (from < 1 || from > to) throw new ApiError('invalid_request', 'consistency proofs need 1 <= from <= to');
  const leaves = await loadLeafHashes(db, tenantId, to);
  return {
    from,
    to,
    from_root: rootHash(leaves.slice(0, from)).toString('hex'),
    to_root: rootHash(leaves).toString('hex'),
    proof: consistencyProof(leaves, from, to).map((b) => b.toString('hex')),
    from_tree_head: await treeHeadAt(db, tenantId, from),
    to_tree_head: await treeHeadAt(db, tenantId, to),
  };
}

/** Up to `limit` integrated entries of an organisation's log after leaf `after`, in order. */
export async function entriesAfter(db: Queryable, tenantId: string, after: number, limit: number): Promise<StoredEntry[]> {
  const rows = await db.query<EntryRow>(
    `SELECT ${ENTRY_COLUMNS} FROM audit_entries WHERE tenant_id = $1 AND leaf_index > $2 ORDER BY leaf_index LIMIT $3`,
    [tenantId, after, limit],
  );
  return rows.map(toEntry);
}
