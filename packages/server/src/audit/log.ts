import type { Queryable } from '../storage/database.js';

export type AuditEventType =
  | 'mpa.created'
  | 'mpa.decision'
  | 'mpa.completed'
  | 'mpa.cancelled'
  | 'mpa.flagged'
  | 'governance.updated'
  | 'device.time_zone_set'
  | 'pairing.created'
  | 'device.paired'
  | 'device.revoked'
  | 'apikey.created'
  | 'apikey.revoked'
  | 'webhook.created'
  | 'webhook.updated'
  | 'webhook.secret_rotated'
  | 'webhook.deleted'
  | 'webhook.disabled'
  | 'webhook.delivery_failed'
  | 'webhook.delivery_retried'
  | 'device.owner_set'
  | 'team.created'
  | 'team.updated'
  | 'team.deleted'
  | 'override.created'
  | 'override.reviewed'
  | 'override.settings_updated';

interface AuditEntry {
  tenantId: string;
  type: AuditEventType;
  data: Record<string, unknown>;
  requestId: string | null;
}

/** The entries withAuditBatched is holding back, by the Queryable it handed out. */
const heldBack = new WeakMap<Queryable, AuditEntry[]>();

/**
 * Appends one entry to the tenant's append-only audit log, inside the caller's transaction.
 * The audit integrator later gives it its place (leaf index) in the tenant's Merkle tree.
 */
export async function appendAudit(
  tx: Queryable,
  tenantId: string,
  type: AuditEventType,
  data: Record<string, unknown>,
  requestId: string | null = null,
): Promise<void> {
  const entry = { tenantId, type, data, requestId };
  const held = heldBack.get(tx);
  if (held) held.push(entry);
  else await writeAudit(tx, [entry]);
}

/**
 * Runs `fn` in the caller's transaction with the audit entries it appends held back, then writes
 * them in one statement, in the order they were appended: a transition appends up to three
 * (a decision, its flags, the outcome), and each statement is a call into the embedded store and
 * a statement for PostgreSQL to run. `fn` must not read the audit log.
 */
export async function withAuditBatched<T>(tx: Queryable, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  const batched: Queryable = {
    query: (sql, params) => tx.query(sql, params),
    write: (sql, params) => tx.write(sql, params),
    notifyOnCommit: (sql, params) => tx.notifyOnCommit(sql, params),
  };
  const held: AuditEntry[] = [];
  heldBack.set(batched, held);
  const result = await fn(batched);
  heldBack.delete(batched);
  await writeAudit(tx, held);
  return result;
}

/** The most entries one INSERT carries: a release of held decisions can append thousands. */
export const AUDIT_ROWS_PER_STATEMENT = 500;

/**
 * One entry as a row of VALUES; several through arrays, so that the statement's text, and with it
 * the prepared statement the store keeps, is the same whatever their number. Rows are inserted,
 * and numbered, in the order given.
 */
async function writeAudit(tx: Queryable, entries: readonly AuditEntry[]): Promise<void> {
  if (entries.length === 1) {
    const [e] = entries as [AuditEntry];
    await tx.write('INSERT INTO audit_entries (tenant_id, type, request_id, data) VALUES ($1, $2, $3, $4)', [
      e.tenantId,
      e.type,
      e.requestId,
      JSON.stringify(e.data),
    ]);
    return;
  }
  for (let from = 0; from < entries.length; from += AUDIT_ROWS_PER_STATEMENT) {
    const chunk = entries.slice(from, from + AUDIT_ROWS_PER_STATEMENT);
    await tx.write(
      `INSERT INTO audit_entries (tenant_id, type, request_id, data)
       SELECT tenant_id, type, request_id, data
         FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::jsonb[]) WITH ORDINALITY AS e (tenant_id, type, request_id, data, n)
        ORDER BY n`,
      [chunk.map((e) => e.tenantId), chunk.map((e) => e.type), chunk.map((e) => e.requestId), chunk.map((e) => JSON.stringify(e.data))],
    );
  }
}
