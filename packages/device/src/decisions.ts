import { actionDigest, DomainTag, ErrorCode, signPayload, type Decision, type MpaStatus, type ParamValue } from '@sigilauth/protocol';
import { isDeviceRequestView, type DecisionPayload, type DeviceRequestView } from '@sigilauth/protocol/wire';
import { requestJson, SigilApiError } from './http.js';
import type { DeviceKey, PairedServer } from './keystore.js';

/**
 * Combines two views of one request that may arrive out of order: a finished request stays
 * finished, the approval count never goes down, and this device's decision is never forgotten.
 */
export function mergeViews(current: DeviceRequestView, incoming: DeviceRequestView): DeviceRequestView {
  if (current.status !== 'pending') return current;
  return {
    ...incoming,
    // A request's action never changes: a view naming another one keeps the action already shown,
    // which is all a decision ever signs (the server then refuses it as action_mismatch).
    action: current.action,
    action_digest: current.action_digest,
    groups_satisfied_count: Math.max(current.groups_satisfied_count, incoming.groups_satisfied_count),
    my_decision: incoming.my_decision ?? current.my_decision,
    ...(current.my_group_satisfied || incoming.my_group_satisfied ? { my_group_satisfied: true } : {}),
  };
}

/** The action exactly as it is displayed, and therefore exactly what a decision signs. */
export function displayedAction(view: DeviceRequestView): { type: string; description: string; params: Record<string, ParamValue> } {
  return { type: view.action.type, description: view.action.description, params: { ...view.action.params } };
}

export class DecisionError extends Error {
  override name = 'DecisionError';
  constructor(
    readonly code: string,
    message: string,
    readonly status: number = 0,
  ) {
    super(message);
  }
}

const STATUS_WORDS: Record<MpaStatus, string> = {
  pending: 'pending',
  approved: 'approved',
  rejected: 'rejected',
  timeout: 'timed out',
  cancelled: 'cancelled',
};

export function statusWord(status: unknown): string {
  return typeof status === 'string' && status in STATUS_WORDS ? STATUS_WORDS[status as MpaStatus] : 'completed';
}

/** Builds and signs a decision for a request as displayed; refuses when the displayed action does not match its digest. */
export function signDecision(
  server: Pick<PairedServer, 'server_id'>,
  key: DeviceKey,
  view: DeviceRequestView,
  decision: Decision,
  now: number = Date.now(),
): { payload: DecisionPayload; signature: string } {
  const digest = actionDigest(displayedAction(view));
  if (digest !== view.action_digest) {
    throw new DecisionError(
      ErrorCode.action_mismatch,
      'Refusing to sign: the action shown does not match the action digest the server sent',
    );
  }
  const payload: DecisionPayload = {
    purpose: 'mpa-decision',
    server_id: server.server_id,
    request_id: view.request_id,
    fingerprint: key.fingerprint,
    decision,
    action_digest: digest,
    issued_at: now,
  };
  return { payload, signature: signPayload(DomainTag.mpaDecision, payload, key.privateKey) };
}

/**
 * Approves or denies a request as shown in `view`. Returns the server's answer: the updated view,
 * which is not signed (trust the signed view a DeviceSession delivers). Throws DecisionError with
 * a person-readable message (e.g. "Request already rejected").
 */
export async function submitDecision(
  server: PairedServer,
  key: DeviceKey,
  view: DeviceRequestView,
  decision: Decision,
  options: { now?: number } = {},
): Promise<DeviceRequestView> {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(view.request_id)) {
    throw new DecisionError(ErrorCode.invalid_request, 'the request ID is not a UUID');
  }
  if (view.status !== 'pending') throw new DecisionError(ErrorCode.request_completed, `Request already ${statusWord(view.status)}`, 409);
  if (view.my_decision !== null) {
    throw new DecisionError(
      ErrorCode.already_decided,
      `You have already ${view.my_decision === 'approve' ? 'approved' : 'denied'} this request`,
      409,
    );
  }
  const body = signDecision(server, key, view, decision, options.now);
  let result: unknown;
  try {
    result = await requestJson(`${server.url}/v1/mpa/requests/${encodeURIComponent(view.request_id)}/decisions`, { method: 'POST', body });
  } catch (err) {
    if (!(err instanceof SigilApiError)) throw err;
    if (err.code === ErrorCode.request_completed)
      throw new DecisionError(err.code, `Request already ${statusWord(err.details?.status)}`, err.status);
    if (err.code === ErrorCode.already_decided) throw new DecisionError(err.code, 'You have already decided on this request', err.status);
    if (err.code === ErrorCode.not_an_approver)
      throw new DecisionError(err.code, 'This device is not an approver of this request', err.status);
    if (err.code === ErrorCode.device_revoked)
      throw new DecisionError(err.code, 'This device has been revoked and can no longer decide', err.status);
    throw new DecisionError(err.code, `The server refused the decision: ${err.message} (${err.code})`, err.status);
  }
  if (!isDeviceRequestView(result) || result.request_id !== view.request_id) {
    throw new DecisionError('invalid_response', 'the server accepted the decision but answered with something unexpected', 200);
  }
  return result;
}
