/** The console's view of a request's notifications (GET /v1/mpa/requests/{id}/notifications). */
import type { Notification } from '@sigilauth/protocol/wire';
import { h, type Child } from './lib/dom.js';

/** One notification as GET /v1/mpa/requests/{id}/notifications answers it. */
export type NotificationRow = Notification;

const KIND_TEXT: Readonly<Record<string, string>> = {
  created: 'New request',
  reminder: 'Reminder',
  approved: 'Approved',
  rejected: 'Denied',
  timeout: 'Timed out',
  cancelled: 'Cancelled',
};
const CHANNEL_TEXT: Readonly<Record<string, string>> = { push: 'Push', email: 'Email', slack: 'Slack' };
const STATUS_TEXT: Readonly<Record<string, string>> = {
  queued: 'queued',
  sent: 'sent',
  delivered: 'delivered',
  failed: 'failed',
};

/** Whether any notification may still change (the page keeps refreshing while one does). */
export const anyQueued = (rows: readonly NotificationRow[]) => rows.some((r) => r.status === 'queued');

export function notificationLogSection(
  rows: readonly NotificationRow[],
  deviceName: (fingerprint: string | null) => string,
  table: (caption: string, headers: string[], rows: Child[][]) => HTMLElement,
  badge: (text: string, kind: 'ok' | 'bad' | 'neutral') => HTMLElement,
): HTMLElement[] {
  return [
    h('h2', {}, 'Notifications'),
    table(
      'Notifications of this request',
      ['Sent for', 'To', 'Channel', 'Address', 'State', 'Attempts'],
      rows.map((r) => [
        KIND_TEXT[r.kind] ?? r.kind,
        deviceName(r.fingerprint),
        CHANNEL_TEXT[r.channel] ?? r.channel,
        h('span', { class: 'mono' }, r.target),
        [
          badge(STATUS_TEXT[r.status] ?? r.status, r.status === 'failed' ? 'bad' : r.status === 'queued' ? 'neutral' : 'ok'),
          r.reason ? h('span', { class: 'hint' }, ` ${r.status === 'queued' ? 'retrying: ' : ''}${r.reason}`) : null,
        ],
        String(r.attempt_count),
      ]),
    ),
  ];
}
