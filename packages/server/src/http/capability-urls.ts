/**
 * A URL that may be a capability (a token in its path or query: Slack and push endpoints, many
 * webhook receivers), as it is shown back or recorded in the audit log: its origin only. (No
 * digest of the rest either: a short token could be found from it by trying them all.)
 */
export function shownUrl(url: string): string {
  try {
    return `${new URL(url).origin}/…`;
  } catch {
    return '…';
  }
}
