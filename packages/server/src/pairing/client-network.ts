import { isIPv4, isIPv6 } from 'node:net';

/**
 * The networks a client address belongs to. Limits keyed on a single address are escaped by
 * rotating addresses (an IPv6 host alone holds a /64 of them), so pairing limits are keyed on
 * networks: `client` is one host (IPv4 /32, IPv6 /64), `narrow` a small network (/24, /64) and
 * `wide` a site (/16, /48).
 */
export interface ClientNetworks {
  client: string;
  narrow: string;
  wide: string;
}

/** The eight 16-bit groups of an IPv6 address (zone and embedded IPv4 allowed), or null. */
function ipv6Groups(address: string): number[] | null {
  const ip = address.replace(/%.*$/, '');
  if (!isIPv6(ip)) return null;
  let text = ip;
  const v4 = text.match(/(\d+\.\d+\.\d+\.\d+)$/);
  if (v4) {
    const [a, b, c, d] = v4[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, -v4[1]!.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? (text.split('::') as [string, string]) : [text, null];
  const part = (s: string) => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const left = part(head);
  const right = tail === null ? [] : part(tail);
  const groups = tail === null ? left : [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  return groups.length === 8 ? groups : null;
}

const hex = (groups: number[]) => groups.map((g) => g.toString(16)).join(':');

export function clientNetworks(address: string): ClientNetworks {
  let v4 = isIPv4(address) ? address : null;
  const groups = v4 ? null : ipv6Groups(address);
  // An IPv4 client seen through an IPv6 socket (::ffff:a.b.c.d) is that IPv4 client.
  if (groups && groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    v4 = [groups[6]! >> 8, groups[6]! & 255, groups[7]! >> 8, groups[7]! & 255].join('.');
  }
  if (v4) {
    const [a, b, c] = v4.split('.');
    return { client: `${v4}/32`, narrow: `${a}.${b}.${c}.0/24`, wide: `${a}.${b}.0.0/16` };
  }
  if (groups) {
    const net64 = `${hex(groups.slice(0, 4))}::/64`;
    return { client: net64, narrow: net64, wide: `${hex(groups.slice(0, 3))}::/48` };
  }
  return { client: address, narrow: address, wide: address };
}
