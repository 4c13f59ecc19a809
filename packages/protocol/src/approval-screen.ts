import { paramLabel } from './labels.js';
import type { DeviceRequestView } from './wire/device-view.js';
import type { MpaStatus, ParamValue } from './mpa.js';
import { displayText } from './text.js';

/**
 * The approval screen, shared by every approver client (the `sigil-device` terminal and the web
 * approver): approvalScreen builds what is shown, the clients only lay it out. Pure functions,
 * no I/O and no Node APIs: the browser bundle compiles this file as it is. Every string a request
 * carries goes through displayText, so whitespace cannot push text out of view and nothing
 * invisible, cursor-moving or reordering reaches the screen.
 */

export { displayText, paramLabel };

/** One line of printable text for anything the server sent (names, messages): see displayText. */
export const sanitizeText = displayText;

export function formatParamValue(value: ParamValue): string {
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'number') return String(value);
  return displayText(value);
}

/**
 * `1 of 2 approvals received. Waiting for one more.` while pending; once the request has ended,
 * only the count (nothing is waited for any more).
 */
export function quorumLine(satisfied: number, required: number, status: MpaStatus = 'pending'): string {
  const have = Math.max(0, Math.min(satisfied, required));
  const missing = required - have;
  const head = `${have} of ${required} approval${required === 1 ? '' : 's'} received.`;
  if (missing <= 0 || status !== 'pending') return head;
  return `${head} Waiting for ${missing === 1 ? 'one' : String(missing)} more.`;
}

/** Said to an approver who can still decide although someone in their group has already approved. */
export const GROUP_ALREADY_SATISFIED =
  'Your group has already approved: approving adds nothing to the count, but a denial still rejects the request.';

/** `9m 58s`, `45s`, `1h 2m 3s`; whole seconds left, rounded down. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h ${m}m ${s}s`;
  if (m > 0) return `${m}m ${s}s`;
  return `${s}s`;
}

export function timeLeftLine(expiresAt: string, now: number): string {
  const left = Date.parse(expiresAt) - now;
  if (!Number.isFinite(left)) return 'Expiry unknown';
  return left >= 1000 ? `Expires in ${formatDuration(left)}` : 'Expired';
}

const OUTCOMES: Record<Exclude<MpaStatus, 'pending'>, string> = {
  approved: 'MPA request approved',
  rejected: 'MPA request denied',
  timeout: 'MPA request timed out',
  cancelled: 'MPA request cancelled',
};

/** The announcement for a finished request; null while it is pending. */
export function outcomeLine(status: MpaStatus): string | null {
  return status === 'pending' ? null : (OUTCOMES[status] ?? `MPA request ${displayText(String(status))}`);
}

export const APPROVED_WAITING = [
  'Approved. Waiting for other approvers.',
  "You'll be notified when the action completes or times out.",
] as const;
export const DENIED = 'Denied.';

/** The labels the screen uses itself; no param may look like one of them (see validateMpaRequest). */
export const SCREEN_LABELS = { actionType: 'Action type', group: 'Your group' } as const;

export interface ScreenField {
  label: string;
  value: string;
}

/** Where the request stands for this approver: what comes after the details. */
export type ScreenState =
  /** This device can still decide: the client shows its prompt here, and only here. */
  | { kind: 'decide' }
  | { kind: 'approved'; lines: readonly string[] }
  | { kind: 'denied'; lines: readonly string[] }
  | { kind: 'finished'; status: Exclude<MpaStatus, 'pending'>; lines: readonly string[] };

/**
 * Everything the approval screen shows, in order, already made safe to print. The action's
 * description, its type and every param (label and value) are all here: together they are the
 * action whose digest the approver signs.
 */
export interface ApprovalScreen {
  /** `Acme Corp is requesting approval` */
  heading: string;
  description: string;
  /** `Action type` first, then each param in the order the requester sent them. */
  fields: ScreenField[];
  /** `1 of 2 approvals received. Waiting for one more.` */
  quorum: string;
  /** `Expires in 9m 58s`; null once the request has finished. */
  timeLeft: string | null;
  /** `Your group: Engineering Leads` (the fine print). */
  group: string;
  /** While this approver can decide: a note when their group is already satisfied; otherwise null. */
  note: string | null;
  state: ScreenState;
}

export function approvalScreen(view: DeviceRequestView, now: number): ApprovalScreen {
  const outcome = outcomeLine(view.status);
  const state: ScreenState =
    outcome !== null
      ? { kind: 'finished', status: view.status as Exclude<MpaStatus, 'pending'>, lines: [outcome] }
      : view.my_decision === 'approve'
        ? { kind: 'approved', lines: APPROVED_WAITING }
        : view.my_decision === 'deny'
          ? { kind: 'denied', lines: [DENIED] }
          : { kind: 'decide' };
  return {
    heading: `${displayText(view.org_name)} ${outcome === null ? 'is requesting' : 'requested'} approval`,
    description: displayText(view.action.description),
    fields: [
      { label: SCREEN_LABELS.actionType, value: displayText(view.action.type) },
      ...Object.entries(view.action.params ?? {}).map(([key, value]) => ({ label: paramLabel(key), value: formatParamValue(value) })),
    ],
    quorum: quorumLine(view.groups_satisfied_count, view.groups_required, view.status),
    timeLeft: outcome === null ? timeLeftLine(view.expires_at, now) : null,
    group: `${SCREEN_LABELS.group}: ${displayText(view.group_name)}`,
    note: state.kind === 'decide' && view.my_group_satisfied === true ? GROUP_ALREADY_SATISFIED : null,
    state,
  };
}
