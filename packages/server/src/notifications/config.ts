import type { WebhookLookup } from '../webhooks/ssrf.js';

/** Delays before retry 1, 2, …, each with up to +20 % jitter: about two hours in all, the longest a request lives. */
export const DEFAULT_NOTIFY_RETRY_SCHEDULE_MS: readonly number[] = [5_000, 30_000, 2 * 60_000, 10 * 60_000, 30 * 60_000, 60 * 60_000];

/** Share of a request's lifetime after which undecided approvers are reminded once. */
export const DEFAULT_REMINDER_AT = 0.5;

export interface NotificationConfig {
  /** smtp:// or smtps:// URL of the relay (SIGIL_SMTP_URL); null: email is not set up. */
  smtpUrl: string | null;
  /** From: address (SIGIL_MAIL_FROM). */
  mailFrom: string;
  /** VAPID subject, a mailto: or https: URL push services may use to reach the operator (SIGIL_VAPID_SUBJECT). */
  vapidSubject: string | null;
  /** Share of the expiry after which the one reminder goes out; 0 turns reminders off (SIGIL_NOTIFY_REMINDER_AT). */
  reminderAt: number;
  retryScheduleMs: readonly number[];
  /** Per-attempt timeout. */
  timeoutMs: number;
  /** Notifications in flight at once on this instance. */
  concurrency: number;
  /** Fallback poll, and how often reminders are looked for. */
  pollIntervalMs: number;
  /** Push endpoints and Slack URLs may be private addresses (as SIGIL_WEBHOOK_ALLOW_PRIVATE for webhooks). */
  allowPrivate: boolean;
  lookup?: WebhookLookup | undefined;
}

export const DEFAULT_NOTIFICATION_CONFIG: NotificationConfig = {
  smtpUrl: null,
  mailFrom: 'Sigil <sigil@localhost>',
  vapidSubject: null,
  reminderAt: DEFAULT_REMINDER_AT,
  retryScheduleMs: DEFAULT_NOTIFY_RETRY_SCHEDULE_MS,
  timeoutMs: 15_000,
  concurrency: 8,
  pollIntervalMs: 1_000,
  allowPrivate: false,
};

/** Checks SIGIL_SMTP_URL, SIGIL_MAIL_FROM, SIGIL_VAPID_SUBJECT and SIGIL_NOTIFY_REMINDER_AT as loadSettings read them. */
export function notificationSettings(env: Readonly<Record<string, string | undefined>>): Partial<NotificationConfig> {
  const config: Partial<NotificationConfig> = {};
  const smtp = env.SIGIL_SMTP_URL;
  if (smtp) {
    let url: URL;
    try {
      url = new URL(smtp);
    } catch {
      throw new Error('SIGIL_SMTP_URL must be a URL such as smtps://user:password@mail.example.com');
    }
    if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:')
      throw new Error(`SIGIL_SMTP_URL must start with smtp:// or smtps://, not ${url.protocol}//`);
    config.smtpUrl = smtp;
  }
  if (env.SIGIL_MAIL_FROM) {
    if (env.SIGIL_MAIL_FROM.length > 200 || !env.SIGIL_MAIL_FROM.includes('@'))
      throw new Error('SIGIL_MAIL_FROM must be an address such as "Sigil <sigil@example.com>"');
    config.mailFrom = env.SIGIL_MAIL_FROM;
  }
  const subject = env.SIGIL_VAPID_SUBJECT;
  if (subject) {
    if (!/^(mailto:[^@\s]+@[^@\s]+|https:\/\/\S+)$/.test(subject)) throw new Error('SIGIL_VAPID_SUBJECT must be a mailto: or https: URL');
    config.vapidSubject = subject;
  }
  const share = env.SIGIL_NOTIFY_REMINDER_AT;
  if (share !== undefined && share !== '') {
    const n = Number(share);
    if (!Number.isFinite(n) || n < 0 || n >= 1)
      throw new Error(`SIGIL_NOTIFY_REMINDER_AT must be a number from 0 (no reminder) to below 1, not ${share}`);
    config.reminderAt = n;
  }
  return config;
}
