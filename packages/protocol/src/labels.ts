import { charClass, displayText } from './text.js';
import { FOLD_RUNS, LOOKALIKE_PAIRS, LOWER_RUNS } from './unicode-tables.js';

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

function decodeRuns<T>(runs: string, each: (fields: string[], i: number, codePoint: number) => T, into: Map<number, T>): Map<number, T> {
  for (const run of runs.split(',')) {
    const fields = run.split(':');
    const start = parseInt(fields[0]!, 36);
    const count = parseInt(fields[1]!, 36);
    const stride = parseInt(fields[2]!, 36);
    for (let i = 0; i < count; i++) into.set(start + i * stride, each(fields, i, start + i * stride));
  }
  return into;
}

const LOWER = decodeRuns(LOWER_RUNS, (f, _i, cp) => cp + parseInt(f[3]!, 36), new Map<number, number>());
const FOLD = decodeRuns(
  FOLD_RUNS,
  (f, i) => (f[4]!.length === 1 ? String.fromCharCode(f[4]!.charCodeAt(0) + i * parseInt(f[3]!, 36)) : f[4]!),
  new Map<number, string>(),
);
const LOOKALIKES = new Map(
  LOOKALIKE_PAIRS.split(',').map((pair) => {
    const [cp, ascii] = pair.split(':');
    return [parseInt(cp!, 36), ascii!] as const;
  }),
);

/** Lower case by the frozen table: the same in every runtime. */
export function lowerCase(text: string): string {
  let out = '';
  for (const ch of text) out += String.fromCodePoint(LOWER.get(ch.codePointAt(0)!) ?? ch.codePointAt(0)!);
  return out;
}

const SEPARATORS = /[_\- ]+/;

/** `engine_id` → `Engine ID`, `requested_by` → `Requested by`, `api_url` → `API URL`. */
export function paramLabel(key: string): string {
  return displayText(labelWords(key));
}

/** The skeleton (see labelSkeleton) of the label a param key gets on the approval screen. */
export function paramSkeleton(key: string): string {
  return labelSkeleton(labelWords(key));
}

/** The label's words, before displayText makes what splitting left at a word's edge printable. */
function labelWords(key: string): string {
  const words = displayText(key)
    .split(SEPARATORS)
    .filter((w) => w !== '');
  if (words.length === 0) return '(unnamed)';
  return words
    .map((word, i) => {
      const acronym = ACRONYMS[word.replace(/[A-Z]/g, (c) => c.toLowerCase())];
      if (acronym !== undefined) return acronym;
      if (lowerCase(word) !== word) return word; // already has capitals: the sender meant them
      return i === 0 && /^[a-z]/.test(word) ? word.charAt(0).toUpperCase() + word.slice(1) : word;
    })
    .join(' ');
}

/**
 * What a label looks like, reduced to what a reader can tell apart: only its letters and digits,
 * in lower case, without accents or other marks, in their plain form (full-width, mathematical
 * and circled letters become ASCII), and with letters of other scripts that look like Latin ones
 * (Cyrillic а, Greek Ο, digit 0 for o) replaced by them. Since capital I looks like small l and
 * case is folded, i, I, l and 1 are one letter here. Two labels with the same skeleton could be
 * mistaken for each other on the approval screen.
 */
export function labelSkeleton(label: string): string {
  let out = '';
  for (const ch of label) {
    const cp = ch.codePointAt(0)!;
    if (charClass(cp) !== 'alnum') continue;
    out += LOOKALIKES.get(cp) ?? FOLD.get(cp) ?? String.fromCodePoint(LOWER.get(cp) ?? cp);
  }
  return out.replaceAll('i', 'l');
}
