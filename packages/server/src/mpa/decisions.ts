import { DomainTag, isFresh, verifyPayload, type DecisionPayload } from '@sigilauth/protocol';
import { ApiError, notFound } from '../http/errors.js';
import type { Database } from '../storage/database.js';
import { findRequest, recordDecision, type RequestRow } from './requests.js';

/**
 * Checks a device's signed decision against the request it names, then records it.
 * Everything that can be checked without the row lock (signature, membership, digest,
 * freshness) is checked first, so the locked section stays short.
 */
export async function submitDecision(
  db: Database,
  serverId: string,
  requestId: string,
  payload: DecisionPayload,
  signature: string,
  now: number,
): Promise<RequestRow> {
  if (payload.purpose !== 'mpa-decision') throw new ApiError(400, 'invalid_request', 'payload.purpose must be "mpa-decision"');
  if (payload.request_id !== requestId) throw new ApiError(400, 'invalid_request', 'payload.request_id does not match the request in the URL');
  if (payload.server_id !== serverId) throw new ApiError(400, 'wrong_server', 'the decision was signed for another server');
  if (!isFresh(payload.issued_at, now)) throw new ApiError(400, 'stale_signature', 'payload.issued_at is too far from the server clock');

  const request = await findRequest(db, requestId);
  if (!request) throw notFound('MPA request');
  const approver = request.groups.flatMap((g) => g.approvers).find((a) => a.fingerprint === payload.fingerprint);
  if (!approver) throw new ApiError(403, 'not_an_approver', 'this device is not an approver of this request');
  if (!verifyPayload(DomainTag.mpaDecision, payload, signature, approver.device_public_key)) {
    throw new ApiError(401, 'invalid_signature', 'the decision signature does not verify against the approver key');
  }
  if (payload.action_digest !== request.action_digest) {
    throw new ApiError(400, 'action_mismatch', 'the decision was signed for a different action');
  }
  if (payload.issued_at >= request.expires_at.getTime()) {
    throw new ApiError(409, 'request_completed', 'MPA request is already timeout', { status: 'timeout' });
  }
  return recordDecision(db, { requestId, fingerprint: payload.fingerprint, decision: payload.decision, payload, signature }, now);
}
