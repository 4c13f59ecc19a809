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
      const e = err as Error & { responseCode?: number };
      const error = e.message.slice(0, 500);
      if (e.responseCode !== undefined && e.responseCode >= 500 && e.responseCode < 600) return { outcome: 'failed', error };
      return { outcome: 'retry', error };
    }
  }

  close(): void {
    this.transport?.close();
  }
}
