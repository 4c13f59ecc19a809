import type { MpaAction } from '@sigilauth/protocol';
import type { Queryable } from '../storage/database.js';
import { appendAudit } from '../audit/log.js';
import { recordEvent } from '../events/outbox.js';
import type { EngineState } from '../mpa/engine.js';

/**
 * When an override's review request ends (approved: the override is endorsed; rejected, timeout
 * or cancelled: it is not), the override leaves the list awaiting review, with an
 * `override.reviewed` event and audit entry, in the transaction that ended the request.
 * A request of type emergency_override that no override made (the integrator's own) is left alone.
 */
export async function recordOverrideReviewed(tx: Queryable, tenantId: string, requestId: string, state: EngineState): Promise<void> {
  if (state.status === 'pending' || state.completedAt === null) return;
  const at = new Date(state.completedAt);
  const [override] = await tx.query<{ id: string; reason: string; action: Required<MpaAction> }>(
    'UPDATE overrides SET reviewed_at = $3 WHERE tenant_id = $1 AND review_request_id = $2 AND reviewed_at IS NULL RETURNING id, reason, action',
    [tenantId, requestId, at],
  );
  if (!override) return;
  const fields = {
    override_id: override.id,
    review_request_id: requestId,
    outcome: state.status,
    groups_satisfied: state.groupsSatisfied,
    reason: override.reason,
    action: override.action,
  };
  await appendAudit(tx, tenantId, 'override.reviewed', { ...fields, emergency: true }, requestId);
  await recordEvent(tx, tenantId, 'override.reviewed', { ...fields, timestamp: at.toISOString() }, requestId);
}
