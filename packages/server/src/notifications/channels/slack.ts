/** Slack incoming webhooks: a Block Kit message with a button to the approval screen. */
import type { NotificationContent } from '../content.js';
import { guardedPost, type HttpPolicy } from './http.js';
import { fromHttpStatus, type SendResult } from './result.js';

/**
 * What a request says reaches Slack as plain text: never as mrkdwn, where a description could make
 * links, @channel mentions, bold claims or struck-out words of its own. `text` (the notification
 * and preview line) has mrkdwn off, and its &, < and > escaped, which Slack parses for links and
 * mentions even then.
 */
const escapeControl = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

export function slackMessage(content: NotificationContent) {
  return {
    text: escapeControl(content.body ? `${content.title}: ${content.body}` : content.title),
    mrkdwn: false,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: content.title.slice(0, 150), emoji: false } },
      ...(content.body ? [{ type: 'section', text: { type: 'plain_text', text: content.body.slice(0, 3000), emoji: false } }] : []),
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
