/** Where a device is reached (email, Slack, push subscription), and an organisation's notification settings. */
import { shownUrl } from '../http/capability-urls.js';
import { ApiError, notFound } from '../http/errors.js';
import type { Queryable } from '../storage/database.js';
import { checkWebhookUrl, type UrlPolicy } from '../webhooks/endpoints.js';
import type { ContentLevel } from './content.js';

export const MAX_EMAIL_LENGTH = 254;

export interface PushSubscriptionInput {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

export interface ContactsInput {
  email?: string | null | undefined;
  slack_webhook_url?: string | null | undefined;
  push_subscription?: PushSubscriptionInput | null | undefined;
}

interface ContactsRow {
  email: string | null;
  slack_webhook_url: string | null;
  push_endpoint: string | null;
}

/**
 * How a device is reached, as the API shows it. A Slack webhook URL and a push endpoint are
 * capabilities (whoever holds one can post), so only their origin is shown back.
 */
export function contactsView(row: ContactsRow | undefined) {
  return {
    email: row?.email ?? null,
    slack_webhook: row?.slack_webhook_url ? shownUrl(row.slack_webhook_url) : null,
    push: row?.push_endpoint ? { service: new URL(row.push_endpoint).origin } : null,
  };
}
export type ContactsView = ReturnType<typeof contactsView>;

/** An address nodemailer can send to, one mailbox, no display name or header tricks. */
export function checkEmail(email: string): string {
  const trimmed = email.trim();
  if (trimmed.length > MAX_EMAIL_LENGTH || !/^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[^\s@<>()[\]\\,;:"]+$/.test(trimmed)) {
    throw new ApiError('invalid_request', 'email must be one address such as alice@example.com');
  }
  return trimmed;
}

const b64urlBytes = (value: string) => (/^[A-Za-z0-9_-]+={0,2}$/.test(value) ? Buffer.from(value, 'base64url') : null);

/** A subscription as PushSubscription.toJSON() gives it: the endpoint under the SSRF rules, a P-256 key and a 16-byte secret. */
async function checkSubscription(
  db: Queryable,
  sub: PushSubscriptionInput,
  policy: UrlPolicy,
  tenantId: string,
): Promise<{ endpoint: string; p256dh: string; auth: string }> {
  const endpoint = await checkWebhookUrl(db, sub.endpoint, policy, tenantId);
  if (!policy.allowPrivate && !endpoint.startsWith('https:')) throw new ApiError('invalid_url', 'a push endpoint must be an https: URL');
  const p256dh = b64urlBytes(sub.keys.p256dh);
  if (!p256dh || p256dh.length !== 65 || p256dh[0] !== 4)
    throw new ApiError('invalid_request', 'push_subscription.keys.p256dh must be an uncompressed P-256 point (65 bytes, base64url)');
  const auth = b64urlBytes(sub.keys.auth);
  if (!auth || auth.length !== 16) throw new ApiError('invalid_request', 'push_subscription.keys.auth must be 16 bytes, base64url');
  return { endpoint, p256dh: sub.keys.p256dh, auth: sub.keys.auth };
}

/** Sets what the input names (null clears it), leaving the rest; only for an active device of the tenant. */
export async function updateContacts(
  db: Queryable,
  tenantId: string,
  fingerprint: string,
  input: ContactsInput,
  policy: UrlPolicy,
  now: number,
): Promise<ContactsView> {
  const email = input.email === undefined || input.email === null ? input.email : checkEmail(input.email);
  const slack =
    input.slack_webhook_url === undefined || input.slack_webhook_url === null
      ? input.slack_webhook_url
      : await checkWebhookUrl(db, input.slack_webhook_url, policy, tenantId);
  const push =
    input.push_subscription === undefined || input.push_subscription === null
      ? input.push_subscription
      : await checkSubscription(db, input.push_subscription, policy, tenantId);
  const [device] = await db.query<{ revoked_at: Date | null }>('SELECT revoked_at FROM devices WHERE tenant_id = $1 AND fingerprint = $2', [
    tenantId,
    fingerprint,
  ]);
  if (!device) throw notFound('device');
  if (device.revoked_at) throw new ApiError('device_revoked', 'this device has been revoked and is no longer notified');
  const [row] = await db.query<ContactsRow>(
    `INSERT INTO device_contacts AS c (tenant_id, fingerprint, email, slack_webhook_url, push_endpoint, push_p256dh, push_auth, updated_at)
     VALUES ($1, $2, $4, $6, $8, $9, $10, $11)
     ON CONFLICT (tenant_id, fingerprint) DO UPDATE SET
       email = CASE WHEN $3 THEN EXCLUDED.email ELSE c.email END,
       slack_webhook_url = CASE WHEN $5 THEN EXCLUDED.slack_webhook_url ELSE c.slack_webhook_url END,
       push_endpoint = CASE WHEN $7 THEN EXCLUDED.push_endpoint ELSE c.push_endpoint END,
       push_p256dh = CASE WHEN $7 THEN EXCLUDED.push_p256dh ELSE c.push_p256dh END,
       push_auth = CASE WHEN $7 THEN EXCLUDED.push_auth ELSE c.push_auth END,
       updated_at = EXCLUDED.updated_at
     RETURNING email, slack_webhook_url, push_endpoint`,
    [
      tenantId,
      fingerprint,
      email !== undefined,
      email ?? null,
      slack !== undefined,
      slack ?? null,
      push !== undefined,
      push?.endpoint ?? null,
      push?.p256dh ?? null,
      push?.auth ?? null,
      new Date(now),
    ],
  );
  return contactsView(row);
}

/** A device of the tenant's contacts (revoked devices have none); 404 for a device the tenant does not have. */
export async function getContacts(db: Queryable, tenantId: string, fingerprint: string): Promise<ContactsView> {
  const [device] = await db.query('SELECT 1 FROM devices WHERE tenant_id = $1 AND fingerprint = $2', [tenantId, fingerprint]);
  if (!device) throw notFound('device');
  const [row] = await db.query<ContactsRow>(
    'SELECT email, slack_webhook_url, push_endpoint FROM device_contacts WHERE tenant_id = $1 AND fingerprint = $2',
    [tenantId, fingerprint],
  );
  return contactsView(row);
}

/** On revocation: the device is never notified again, and its push subscription is forgotten. */
export async function forgetContacts(tx: Queryable, tenantId: string, fingerprint: string): Promise<void> {
  await tx.query('DELETE FROM device_contacts WHERE tenant_id = $1 AND fingerprint = $2', [tenantId, fingerprint]);
}

export interface SettingsInput {
  content?: ContentLevel | undefined;
  slack_webhook_url?: string | null | undefined;
}

export async function getSettings(db: Queryable, tenantId: string) {
  const [row] = await db.query<{ content: ContentLevel; slack_webhook_url: string | null }>(
    'SELECT content, slack_webhook_url FROM notification_settings WHERE tenant_id = $1',
    [tenantId],
  );
  return { content: row?.content ?? 'full', slack_webhook: row?.slack_webhook_url ? shownUrl(row.slack_webhook_url) : null };
}

export async function updateSettings(db: Queryable, tenantId: string, input: SettingsInput, policy: UrlPolicy, now: number) {
  const slack =
    input.slack_webhook_url === undefined || input.slack_webhook_url === null
      ? input.slack_webhook_url
      : await checkWebhookUrl(db, input.slack_webhook_url, policy, tenantId);
  await db.query(
    `INSERT INTO notification_settings AS s (tenant_id, content, slack_webhook_url, updated_at) VALUES ($1, coalesce($2, 'full'), $4, $5)
     ON CONFLICT (tenant_id) DO UPDATE SET content = coalesce($2, s.content),
       slack_webhook_url = CASE WHEN $3 THEN EXCLUDED.slack_webhook_url ELSE s.slack_webhook_url END, updated_at = EXCLUDED.updated_at`,
    [tenantId, input.content ?? null, slack !== undefined, slack ?? null, new Date(now)],
  );
  return getSettings(db, tenantId);
}
