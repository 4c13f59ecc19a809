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
  await tx.query('INSERT INTO audit_entries (tenant_id, type, request_id, data) VALUES ($1, $2, $3, $4)', [
    tenantId,
    type,
    requestId,
    JSON.stringify(data),
  ]);
}
