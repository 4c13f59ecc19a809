import type { DeviceRequestView } from '@sigilauth/protocol';
import {
  APPROVED_WAITING,
  formatParamValue,
  outcomeLine,
  paramLabel,
  quorumLine,
  sanitizeText,
  timeLeftLine,
} from '@sigilauth/protocol';

/**
 * Pure rendering of the approval screen: a DeviceRequestView in, text lines out. The wording
 * (labels, quorum line, time left, outcomes) lives in @sigilauth/protocol so the web approver
 * says exactly the same; everything the server sent is passed through sanitizeText first.
 */
export {
  APPROVED_WAITING,
  formatDuration,
  formatParamValue,
  outcomeLine,
  paramLabel,
  quorumLine,
  sanitizeText,
  timeLeftLine,
} from '@sigilauth/protocol';

export const BUTTONS = '[Deny] [Approve]';

export interface ScreenOptions {
  /** Clock for the time left; defaults to Date.now(). */
  now?: number;
  /** Lines in place of the buttons while the device can still decide (default: `[Deny] [Approve]`). */
  prompt?: readonly string[];
}

/**
 * The approval screen, as the guide shows it:
 *
 *   Acme Corp is requesting approval
 *
 *   Cold boot engine ENG-001
 *
 *   Engine ID: ENG-001
 *   ...
 *
 *   1 of 2 approvals received. Waiting for one more.
 *   Expires in 9m 58s
 *   Your group: Engineering Leads
 *
 *   [Deny] [Approve]
 *
 * Only counts are shown for the quorum: never who else approved (the server does not say).
 */
export function renderScreen(view: DeviceRequestView, options: ScreenOptions = {}): string[] {
  const now = options.now ?? Date.now();
  const lines: string[] = [`${sanitizeText(view.org_name)} is requesting approval`, '', sanitizeText(view.action.description), ''];
  const params = Object.entries(view.action.params ?? {});
  for (const [key, value] of params) lines.push(`${paramLabel(key)}: ${formatParamValue(value)}`);
  if (params.length > 0) lines.push('');
  lines.push(quorumLine(view.groups_satisfied_count, view.groups_required));
  const outcome = outcomeLine(view.status);
  if (outcome === null) lines.push(timeLeftLine(view.expires_at, now));
  lines.push(`Your group: ${sanitizeText(view.group_name)}`, '');
  if (outcome !== null) {
    lines.push(outcome);
  } else if (view.my_decision === 'approve') {
    lines.push(...APPROVED_WAITING);
  } else if (view.my_decision === 'deny') {
    lines.push('Denied.');
  } else {
    lines.push(...(options.prompt ?? [BUTTONS]));
  }
  return lines;
}

/** One line for a list of requests: id, description, time left, quorum. */
export function summaryLine(view: DeviceRequestView, now: number = Date.now()): string {
  const parts = [
    view.request_id,
    sanitizeText(view.action.description),
    outcomeLine(view.status) ?? timeLeftLine(view.expires_at, now).replace(/^Expires/, 'expires'),
    `${Math.min(view.groups_satisfied_count, view.groups_required)} of ${view.groups_required} approvals`,
    `group: ${sanitizeText(view.group_name)}`,
  ];
  if (view.my_decision === 'approve') parts.push('you approved');
  if (view.my_decision === 'deny') parts.push('you denied');
  return parts.join('  |  ');
}
