/** Slack incoming webhooks: a Block Kit message with a button to the approval screen. */
import type { NotificationContent } from '../content.js';
import { guardedPost, type HttpPolicy } from './http.js';
import { fromHttpStatus, type SendResult } from './result.js';

/** Slack's mrkdwn treats &, < and > specially; everything else is shown as written. */
const escapeMrkdwn = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

export function slackMessage(content: NotificationContent) {
  return {
    text: content.body ? `${content.title}: ${content.body}` : content.title,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: content.title.slice(0, 150), emoji: false } },
      ...(content.body ? [{ type: 'section', text: { type: 'mrkdwn', text: escapeMrkdwn(content.body).slice(0, 3000) } }] : []),
      {
        type: 'actions',
        elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open the request' }, url: content.url, action_id: 'open_request' }],
      },
    ],
  };
}

export async function sendSlack(url: string, content: NotificationContent, policy: HttpPolicy): Promise<SendResult> {
  const result = await guardedPost(url, JSON.stringify(slackMessage(content)), { 'content-type': 'application/json' }, policy);
  if (result.status === -1) return { outcome: 'failed', error: result.error ?? 'refused' };
  return fromHttpStatus(result.status, result.error, result.retryAfterSeconds);
}
