import type { MpaStatus, ParamValue } from './mpa.js';

/**
 * The words of the approval screen, shared by every approver client (the `sigil-device` terminal
 * and the web approver) so they say exactly the same thing. Pure functions, no I/O and no Node
 * APIs: the browser bundle compiles this file as it is. Everything a request carries goes
 * through sanitizeText first, so it cannot move the cursor, recolour a terminal, reorder text with
 * bidirectional overrides or fake extra lines.
 */

// CSI (ESC [ ... final), OSC / DCS / SOS / PM / APC strings (ESC ] ... BEL or ST), then any other
// two-character escape. The 8-bit C1 forms are removed with the other control characters below.
const ANSI_SEQUENCE = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b[\]PX^_][\s\S]*?(?:\x07|\x1b\\|$)|\x1b[ -~]?/g;
// C0 controls, DEL, C1 controls, bidirectional overrides/isolates (text that renders in a
// different order than it reads), zero-width characters, and the Unicode line/paragraph separators.
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\u2028\u2029]/g;
const WHITESPACE_CONTROLS = /[\t\n\v\f\r\u2028\u2029\x85]+/g;

/** One line of printable text: escape sequences and control characters removed, line breaks become spaces. */
export function sanitizeText(value: string): string {
  return value.replace(ANSI_SEQUENCE, '').replace(WHITESPACE_CONTROLS, ' ').replace(UNSAFE, '');
}

const ACRONYMS: Readonly<Record<string, string>> = {
  id: 'ID',
  ids: 'IDs',
  url: 'URL',
  urls: 'URLs',
  uri: 'URI',
  ip: 'IP',
  ips: 'IPs',
  api: 'API',
  uuid: 'UUID',
  dns: 'DNS',
  ssh: 'SSH',
  tls: 'TLS',
  ssl: 'SSL',
  http: 'HTTP',
  https: 'HTTPS',
  sql: 'SQL',
  cpu: 'CPU',
  vm: 'VM',
  vpn: 'VPN',
  sso: 'SSO',
  mfa: 'MFA',
  ttl: 'TTL',
};

/** `engine_id` → `Engine ID`, `requested_by` → `Requested by`, `api_url` → `API URL`. */
export function paramLabel(key: string): string {
  const words = sanitizeText(key)
    .split(/[_\-\s]+/)
    .filter((w) => w !== '');
  if (words.length === 0) return '(unnamed)';
  return words
    .map((word, i) => {
      const acronym = ACRONYMS[word.toLowerCase()];
      if (acronym !== undefined) return acronym;
      if (word !== word.toLowerCase()) return word; // already has capitals: the sender meant them
      return i === 0 ? word.charAt(0).toUpperCase() + word.slice(1) : word;
    })
    .join(' ');
}

export function formatParamValue(value: ParamValue): string {
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'number') return String(value);
  return sanitizeText(value);
}

/** `1 of 2 approvals received. Waiting for one more.` */
export function quorumLine(satisfied: number, required: number): string {
  const have = Math.max(0, Math.min(satisfied, required));
  const missing = required - have;
  const head = `${have} of ${required} approvals received.`;
  if (missing <= 0) return head;
  return `${head} Waiting for ${missing === 1 ? 'one' : String(missing)} more.`;
}

/** `9m 58s`, `45s`, `1h 2m 3s`; whole seconds left, rounded down. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h ${m}m ${s}s`;
  if (m > 0) return `${m}m ${s}s`;
  return `${s}s`;
}

export function timeLeftLine(expiresAt: string, now: number): string {
  const left = Date.parse(expiresAt) - now;
  if (!Number.isFinite(left)) return 'Expiry unknown';
  return left >= 1000 ? `Expires in ${formatDuration(left)}` : 'Expired';
}

const OUTCOMES: Record<Exclude<MpaStatus, 'pending'>, string> = {
  approved: 'MPA request approved',
  rejected: 'MPA request denied',
  timeout: 'MPA request timed out',
  cancelled: 'MPA request cancelled',
};

/** The announcement for a finished request; null while it is pending. */
export function outcomeLine(status: MpaStatus): string | null {
  return status === 'pending' ? null : (OUTCOMES[status] ?? `MPA request ${sanitizeText(String(status))}`);
}

export const APPROVED_WAITING = ['Approved. Waiting for other approvers.', "You'll be notified when the action completes or times out."] as const;
