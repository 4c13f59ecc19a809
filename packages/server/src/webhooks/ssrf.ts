/**
 * SSRF guard for webhook targets: which addresses a webhook may never be delivered to, and a
 * resolver that checks a target URL once and pins the address it checked, so that the HTTP
 * client connects to exactly that address (no second DNS answer can rebind it).
 */
import { promises as dns } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { LookupSlots } from './lookup-slots.js';

export type WebhookTargetErrorCode = 'invalid_url' | 'forbidden_address' | 'unresolvable';

export class WebhookTargetError extends Error {
  readonly code: WebhookTargetErrorCode;

  constructor(code: WebhookTargetErrorCode, message: string) {
    super(message);
    this.name = 'WebhookTargetError';
    this.code = code;
  }
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

export type WebhookLookup = (hostname: string) => Promise<ResolvedAddress[]>;

export interface ResolveWebhookTargetOptions {
  /**
   * Let private, loopback and other reserved addresses through (for self-hosted setups whose
   * receivers live on the LAN). Cloud metadata endpoints stay refused even then.
   */
  allowPrivate: boolean;
  /** Resolves a hostname to all its addresses; defaults to `dns.promises.lookup(…, { all: true })`. */
  lookup?: WebhookLookup;
  /** How long a lookup may take (default LOOKUP_TIMEOUT_MS); a host whose DNS answers slower is unresolvable. */
  lookupTimeoutMs?: number;
  /** The organisation the name is looked up for (a test-mode twin's is its live one): its lookups share its place (LookupSlots). */
  organisationId?: string;
  /** The places a lookup waits for; the system resolver's own when `lookup` is not given. */
  slots?: LookupSlots;
}

/** The places for lookups on the system resolver, shared by the whole process. */
const SYSTEM_LOOKUP_SLOTS = new LookupSlots();

/** A name server that answers slowly, or never, must not hold a delivery or a registration. */
export const LOOKUP_TIMEOUT_MS = 5_000;

export interface WebhookTarget {
  url: URL;
  /** The checked address to connect to. */
  address: string;
  family: 4 | 6;
}

// Special-purpose IPv4 ranges (IANA IPv4 Special-Purpose Address Registry, plus multicast).
const FORBIDDEN_V4: ReadonlyArray<readonly [string, number]> = [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT (holds Alibaba's metadata endpoint 100.100.100.200)
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, with the 169.254.169.254 metadata endpoint
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments (holds Oracle's 192.0.0.192)
  ['192.0.2.0', 24], // TEST-NET-1
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // TEST-NET-2
  ['203.0.113.0', 24], // TEST-NET-3
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved
  ['255.255.255.255', 32], // limited broadcast
];

// Special-purpose IPv6 ranges. IPv4-mapped (::ffff:0:0/96), NAT64 (64:ff9b::/96) and 6to4
// (2002::/16) addresses are judged by the IPv4 address they embed instead; see isForbiddenAddress.
// Whatever is outside global unicast 2000::/3 is refused in any case.
const FORBIDDEN_V6: ReadonlyArray<readonly [string, number]> = [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['::', 96], // deprecated IPv4-compatible addresses
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard-only
  ['2001::', 23], // IETF protocol assignments (Teredo, ORCHID, …)
  ['2001:db8::', 32], // documentation
  ['3fff::', 20], // documentation
  ['5f00::', 16], // SRv6 SIDs
  ['fc00::', 7], // unique local, with the fd00:ec2::254 metadata endpoint
  ['fe80::', 10], // link-local
  ['fec0::', 10], // deprecated site-local
  ['ff00::', 8], // multicast
];

const forbidden = new BlockList();
for (const [network, prefix] of FORBIDDEN_V4) forbidden.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of FORBIDDEN_V6) forbidden.addSubnet(network, prefix, 'ipv6');

const globalUnicastV6 = new BlockList();
globalUnicastV6.addSubnet('2000::', 3, 'ipv6');

/** Cloud instance-metadata endpoints: refused even when private addresses are allowed. */
const METADATA_V4 = ['169.254.169.254', '169.254.170.2', '169.254.170.23', '100.100.100.200', '192.0.0.192', '168.63.129.16'];
const METADATA_V6 = ['fd00:ec2::254', 'fd00:ec2::23'];
const metadata = new BlockList();
for (const address of METADATA_V4) metadata.addAddress(address, 'ipv4');
for (const address of METADATA_V6) metadata.addAddress(address, 'ipv6');

const METADATA_HOSTNAMES = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'metadata.azure.internal',
  'instance-data',
  'instance-data.ec2.internal',
]);

/**
 * True when a webhook must not be sent to this IP address: private, loopback, link-local,
 * multicast, documentation, benchmarking or otherwise reserved. Accepts IPv6 with or without
 * brackets. Anything that is not an IP literal (or carries a zone index) counts as forbidden.
 */
export function isForbiddenAddress(ip: string): boolean {
  const literal = stripBrackets(ip.trim());
  switch (isIP(literal)) {
    case 4:
      return forbidden.check(literal, 'ipv4');
    case 6: {
      if (literal.includes('%')) return true; // zone indices only make sense for link-local
      const embedded = embeddedIPv4(literal);
      if (embedded !== null) return forbidden.check(embedded, 'ipv4');
      return !globalUnicastV6.check(literal, 'ipv6') || forbidden.check(literal, 'ipv6');
    }
    default:
      return true;
  }
}

/**
 * True for the cloud metadata endpoints (and Azure's WireServer), in any IPv4-embedding IPv6
 * spelling too: they stay refused even when private addresses are allowed, which lets the
 * deprecated and local-use embeddings through.
 */
function isMetadataAddress(ip: string): boolean {
  const literal = stripBrackets(ip.trim());
  switch (isIP(literal)) {
    case 4:
      return metadata.check(literal, 'ipv4');
    case 6:
      return metadata.check(literal, 'ipv6') || possiblyEmbeddedIPv4(literal).some((v4) => metadata.check(v4, 'ipv4'));
    default:
      return true;
  }
}

/**
 * Checks a webhook URL and resolves its host once. Only http: and https: without credentials;
 * every address the name resolves to must be allowed (one bad address is enough to refuse, as
 * the connection could be steered to any of them). Returns the URL with the first address,
 * which the HTTP client must connect to.
 */
export async function resolveWebhookTarget(url: string, options: ResolveWebhookTargetOptions): Promise<WebhookTarget> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new WebhookTargetError('invalid_url', 'webhook URL is not a valid absolute URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new WebhookTargetError('invalid_url', `webhook URL scheme ${parsed.protocol} is not allowed; use http: or https:`);
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new WebhookTargetError('invalid_url', 'webhook URL must not carry a username or password');
  }
  const hostname = stripBrackets(parsed.hostname);
  if (hostname === '') {
    throw new WebhookTargetError('invalid_url', 'webhook URL has no host');
  }
  const normalizedName = hostname.toLowerCase().replace(/\.+$/, '');
  if (METADATA_HOSTNAMES.has(normalizedName)) {
    throw new WebhookTargetError('forbidden_address', `webhook host ${hostname} is a cloud metadata endpoint`);
  }

  let addresses: ResolvedAddress[];
  const literalFamily = isIP(hostname);
  if (literalFamily === 4 || literalFamily === 6) {
    addresses = [{ address: hostname, family: literalFamily }];
  } else {
    const lookup = options.lookup ?? defaultLookup;
    const slots = options.slots ?? (options.lookup ? null : SYSTEM_LOOKUP_SLOTS);
    const timeoutMs = options.lookupTimeoutMs ?? LOOKUP_TIMEOUT_MS;
    const gaveUp = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const looked = () =>
      slots ? slots.run(hostname.toLowerCase(), options.organisationId ?? '', gaveUp.signal, () => lookup(hostname)) : lookup(hostname);
    try {
      addresses = await Promise.race([
        looked(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            gaveUp.abort();
            reject(new Error(`no answer within ${timeoutMs / 1000} s`));
          }, timeoutMs);
        }),
      ]).finally(() => clearTimeout(timer));
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new WebhookTargetError('unresolvable', `webhook host ${hostname} did not resolve: ${reason}`);
    }
    if (addresses.length === 0) {
      throw new WebhookTargetError('unresolvable', `webhook host ${hostname} resolved to no address`);
    }
  }

  const checked: ResolvedAddress[] = [];
  for (const { address } of addresses) {
    const family = isIP(address);
    if (family !== 4 && family !== 6) {
      throw new WebhookTargetError(
        'unresolvable',
        `webhook host ${hostname} resolved to ${JSON.stringify(address)}, which is not an IP address`,
      );
    }
    // The address itself is not named: these messages reach integrators, who could otherwise map
    // the names the server's resolver knows to internal addresses.
    if (isMetadataAddress(address)) {
      throw new WebhookTargetError('forbidden_address', `webhook host ${hostname} resolves to a cloud metadata endpoint`);
    }
    if (!options.allowPrivate && isForbiddenAddress(address)) {
      throw new WebhookTargetError('forbidden_address', `webhook host ${hostname} resolves to a private or reserved address`);
    }
    checked.push({ address, family });
  }

  const first = checked[0];
  if (first === undefined) {
    throw new WebhookTargetError('unresolvable', `webhook host ${hostname} resolved to no address`);
  }
  return { url: parsed, address: first.address, family: first.family };
}

async function defaultLookup(hostname: string): Promise<ResolvedAddress[]> {
  const results = await dns.lookup(hostname, { all: true, verbatim: true });
  return results.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * The IPv4 address embedded in an IPv4-mapped (::ffff:0:0/96), NAT64 (64:ff9b::/96) or
 * 6to4 (2002::/16) IPv6 address, or null for any other address.
 */
function embeddedIPv4(ipv6: string): string | null {
  const groups = parseIPv6(ipv6);
  if (groups === null) return null;
  const [g0, g1, g2, g3, g4, g5, g6, g7] = groups as [number, number, number, number, number, number, number, number];
  const isMapped = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0xffff;
  const isNat64 = g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0;
  if (isMapped || isNat64) return dottedQuad(g6, g7);
  if (g0 === 0x2002) return dottedQuad(g1, g2);
  return null;
}

/**
 * Every IPv4 address an IPv6 address may stand for: embeddedIPv4's, and those of the deprecated
 * IPv4-compatible (::/96) and IPv4-translated (::ffff:0:0:0/96) forms and of local-use NAT64
 * (64:ff9b:1::/48, in its /48 and its /96 layouts).
 */
function possiblyEmbeddedIPv4(ipv6: string): string[] {
  const groups = parseIPv6(ipv6);
  if (groups === null) return [];
  const [g0, g1, g2, g3, g4, g5, g6, g7] = groups as [number, number, number, number, number, number, number, number];
  const found = [embeddedIPv4(ipv6)];
  const compatible = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && ((g4 === 0 && g5 === 0) || (g4 === 0xffff && g5 === 0));
  if (compatible) found.push(dottedQuad(g6, g7));
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 1) found.push(dottedQuad(g6, g7), dottedQuad(g3, ((g4 & 0xff) << 8) | (g5 >> 8)));
  return found.filter((v4): v4 is string => v4 !== null);
}

function dottedQuad(high: number, low: number): string {
  return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
}

/** The eight 16-bit groups of an IPv6 address already validated by `net.isIP`. */
function parseIPv6(ipv6: string): number[] | null {
  let text = ipv6.toLowerCase();
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);

  // A trailing dotted quad stands for the last two groups.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const octets = tail.split('.').map(Number);
    if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) return null;
    const [a, b, c, d] = octets as [number, number, number, number];
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }

  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parseGroups = (part: string | undefined): number[] =>
    part === undefined || part === '' ? [] : part.split(':').map((group) => Number.parseInt(group, 16));
  const head = parseGroups(halves[0]);
  const rest = halves.length === 2 ? parseGroups(halves[1]) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const groups = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...rest];
  if (groups.some((group) => !Number.isInteger(group) || group < 0 || group > 0xffff)) return null;
  return groups;
}
