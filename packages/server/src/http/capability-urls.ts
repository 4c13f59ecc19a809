import { createHash } from 'node:crypto';

/**
 * A URL that may be a capability (a token in its path or query: Slack and push endpoints, many
 * webhook receivers), as it is shown back or recorded: its origin only.
 */
export function shownUrl(url: string): string {
  try {
    return `${new URL(url).origin}/…`;
  } catch {
    return '…';
  }
}

/** Such a URL as the audit log records it: its origin, and a digest that whoever holds the URL can match. */
export function auditedUrl(url: string): { url: string; url_sha256: string } {
  return { url: shownUrl(url), url_sha256: createHash('sha256').update(url).digest('hex') };
}
