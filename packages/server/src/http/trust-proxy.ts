import { isIP } from 'node:net';

/**
 * Which proxies' `X-Forwarded-For` entries to believe (SIGIL_TRUST_PROXY): false (clients connect
 * directly), a number of proxy hops in front of Sigil, or a comma-separated list of proxy
 * addresses and CIDR ranges. The client address is then the entry the first trusted proxy (the one nearest the client) added,
 * never one the client wrote itself: a client may send any `X-Forwarded-For` it likes, and
 * proxies such as nginx append to it.
 */
export type TrustProxy = false | number | string;

/**
 * Fastify's `trustProxy` for a setting. Fastify refuses bare hop counts (a hop count also
 * believes a client that reaches Sigil directly), so a count n becomes the function that trusts
 * the socket's peer (the last proxy) and the last n - 1 `X-Forwarded-For` entries (the proxies
 * before it): the client is the entry the first proxy appended.
 */
export function fastifyTrustProxy(setting: TrustProxy): false | string | ((address: string, hop: number) => boolean) {
  if (typeof setting !== 'number') return setting;
  return setting === 0 ? false : (_address, hop) => hop < setting;
}

export function parseTrustProxy(value: string | undefined): TrustProxy {
  const text = value?.trim() ?? '';
  if (text === '' || /^(false|no|off|0)$/i.test(text)) return false;
  if (/^(true|yes|on)$/i.test(text)) {
    throw new Error(
      'SIGIL_TRUST_PROXY=true would believe every X-Forwarded-For entry, including those a client writes itself; ' +
        'set it to the number of proxies in front of Sigil (e.g. 1) or to their addresses (e.g. 10.0.0.5,10.0.1.0/24)',
    );
  }
  if (/^\d+$/.test(text)) {
    const hops = Number(text);
    if (hops > 16) throw new Error(`SIGIL_TRUST_PROXY: ${hops} proxy hops is not plausible`);
    return hops;
  }
  const entries = text.split(',').map((e) => e.trim());
  for (const entry of entries) {
    const [address, prefix, ...rest] = entry.split('/');
    const family = isIP(address ?? '');
    const prefixOk = prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= (family === 6 ? 128 : 32));
    if (family === 0 || !prefixOk || rest.length > 0) {
      throw new Error(`SIGIL_TRUST_PROXY: "${entry}" is not a number of proxy hops, an IP address or a CIDR range`);
    }
  }
  return entries.join(',');
}
