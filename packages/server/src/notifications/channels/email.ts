/** Email through the operator's SMTP relay (SIGIL_SMTP_URL), plain text and HTML, with nodemailer. */
import nodemailer, { type Transporter } from 'nodemailer';
import type { NotificationContent } from '../content.js';
import type { SendResult } from './result.js';

const escapeHtml = (text: string) =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;').replaceAll("'", '&#39;');

export function emailMessage(content: NotificationContent) {
  const text = [
    content.title,
    '',
    ...(content.body ? [content.body, ''] : []),
    `Open the request: ${content.url}`,
    '',
    'Deciding needs your passkey or device; this link alone cannot approve anything.',
    '',
  ].join('\n');
  const html = `<!doctype html><html><body>
<h1 style="font-size:18px">${escapeHtml(content.title)}</h1>
${content.body ? `<p>${escapeHtml(content.body)}</p>` : ''}
<p><a href="${escapeHtml(content.url)}">Open the request</a></p>
<p style="color:#555;font-size:12px">Deciding needs your passkey or device; this link alone cannot approve anything.</p>
</body></html>`;
  return { subject: content.title, text, html };
}

/**
 * What the notification log (which integrators read) says of a relay's refusal: its SMTP codes
 * only. The relay's own words can name its hosts and addresses and tell which mailboxes exist.
 */
function relayError(e: { responseCode?: number; response?: string; code?: string }): string {
  if (e.responseCode === undefined) return `the mail relay could not be reached or failed (${e.code ?? 'no answer'})`;
  const enhanced = /^\d{3}[ -](\d\.\d{1,3}\.\d{1,3})\b/.exec(e.response ?? '')?.[1];
  const codes = `SMTP ${e.responseCode}${enhanced ? ` ${enhanced}` : ''}`;
  return e.responseCode >= 500 ? `the mail relay refused the message (${codes})` : `the mail relay deferred the message (${codes})`;
}

export class EmailChannel {
  private transport: Transporter | null = null;

  constructor(
    private readonly smtpUrl: string | null,
    private readonly from: string,
    private readonly timeoutMs: number,
  ) {}

  get configured(): boolean {
    return this.smtpUrl !== null;
  }

  /** `messageId` is the notification's id: a relay or mailbox that sees it twice can tell. */
  async send(to: string, content: NotificationContent, messageId: string): Promise<SendResult> {
    if (!this.smtpUrl) return { outcome: 'failed', error: 'email is not set up on this server (SIGIL_SMTP_URL)' };
    this.transport ??= nodemailer.createTransport(this.smtpUrl, {
      connectionTimeout: this.timeoutMs,
      greetingTimeout: this.timeoutMs,
      socketTimeout: this.timeoutMs,
    } as never);
    const message = emailMessage(content);
    try {
      await this.transport.sendMail({ from: this.from, to, messageId: `<${messageId}@sigil>`, ...message });
      return { outcome: 'sent' };
    } catch (err) {
      const e = err as Error & { responseCode?: number; response?: string; code?: string };
      const error = relayError(e);
      if (e.responseCode !== undefined && e.responseCode >= 500 && e.responseCode < 600) return { outcome: 'failed', error };
      return { outcome: 'retry', error };
    }
  }

  close(): void {
    this.transport?.close();
  }
}
