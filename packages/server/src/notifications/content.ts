/**
 * What a notification says. Only the approval screen's heading and the action's description leave
 * the server (or the heading alone, when the organisation chose `title_only`); never the params,
 * the digest or anything secret. Deciding always needs the device: the link only opens the screen.
 */
import { displayText } from '@sigilauth/protocol';
import type { NotificationKind } from './outbox.js';

export type ContentLevel = 'full' | 'title_only';

export interface NotificationContent {
  title: string;
  /** The action's description; empty when the organisation sends titles only. */
  body: string;
  /** The request's approval screen. */
  url: string;
  requestId: string;
  kind: NotificationKind;
}

const OUTCOME_TITLES: Readonly<Record<Exclude<NotificationKind, 'created' | 'reminder'>, string>> = {
  approved: 'MPA request approved',
  rejected: 'MPA request denied',
  timeout: 'MPA request timed out',
  cancelled: 'MPA request cancelled',
};

export function notificationContent(
  input: { kind: NotificationKind; orgName: string; description: string; requestId: string; content: ContentLevel },
  publicOrigin: string,
): NotificationContent {
  const heading = `${displayText(input.orgName)} is requesting approval`;
  const title = input.kind === 'created' ? heading : input.kind === 'reminder' ? `Reminder: ${heading}` : OUTCOME_TITLES[input.kind];
  return {
    title,
    body: input.content === 'full' ? displayText(input.description) : '',
    url: approvalScreenUrl(publicOrigin, input.requestId),
    requestId: input.requestId,
    kind: input.kind,
  };
}

export function approvalScreenUrl(publicOrigin: string, requestId: string): string {
  return `${publicOrigin.replace(/\/+$/, '')}/approve/requests/${requestId}`;
}
