/**
 * One webhook POST, straight on node:http / node:https.
 *
 * The connection goes to the address the SSRF guard already checked (`target.address`), through a
 * `lookup` that never asks DNS again, so a second answer cannot rebind the delivery to an internal
 * address. The Host header and the TLS server name stay the URL's hostname, so virtual hosting
 * and certificate verification work as usual. Redirects are never followed. Nothing here throws:
 * network failures and timeouts come back as status 0 with an `error` text.
 */
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';

export const WEBHOOK_USER_AGENT = 'Sigil-Webhooks/1';
const DEFAULT_TIMEOUT_MS = 15_000;
const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024;

export interface PostWebhookTarget {
  url: URL;
  address: string;
  family: 4 | 6;
}

export interface PostWebhookOptions {
  /** Total time allowed for connecting, sending and receiving the response. Default 15 000. */
  timeoutMs?: number;
  /** Response body bytes read before the connection is dropped (the body is discarded). Default 64 KiB. */
  maxResponseBytes?: number;
}

export interface PostWebhookResult {
  /** The HTTP status, or 0 when no response arrived (network error, timeout, refused request). */
  status: number;
  /** From a Retry-After header (seconds or HTTP-date), when present and valid. */
  retryAfterSeconds: number | null;
  /** Time until the response headers arrived, or until the attempt failed. */
  latencyMs: number;
  /** What went wrong; absent on a completed exchange (whatever its status). */
  error?: string;
}

export function postWebhook(
  target: PostWebhookTarget,
  body: string | Buffer,
  headers: Record<string, string>,
  options: PostWebhookOptions = {},
): Promise<PostWebhookResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);

  return new Promise<PostWebhookResult>((resolve) => {
    let settled = false;
    let status = 0;
    let retryAfterSeconds: number | null = null;
    let latencyMs = 0;
    let request: http.ClientRequest | undefined;

    const finish = (error?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const result: PostWebhookResult =
        status === 0 ? { status: 0, retryAfterSeconds: null, latencyMs: elapsed() } : { status, retryAfterSeconds, latencyMs };
      if (error !== undefined) result.error = error;
      resolve(result);
    };

    const timer = setTimeout(() => {
      const message = status === 0 ? `timed out after ${timeoutMs} ms` : `timed out after ${timeoutMs} ms reading the response body`;
      finish(message);
      request?.destroy(new Error(message));
    }, timeoutMs);

    const { url, address, family } = target;
    const isHttps = url.protocol === 'https:';
    if (!isHttps && url.protocol !== 'http:') {
      finish(`unsupported URL scheme ${url.protocol}`);
      return;
    }
    if (isIP(address) !== family) {
      finish(`target address ${address} is not an IPv${family} address`);
      return;
    }

    const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const hostnameIsIP = isIP(hostname) !== 0;
    // Answers every lookup with the checked address; Node ≥ 20 asks with `all: true` when it
    // auto-selects the address family, and with a single-answer callback otherwise.
    const pinnedLookup = ((_hostname: string, lookupOptions: { all?: boolean }, callback: (...args: unknown[]) => void): void => {
      if (lookupOptions.all === true) callback(null, [{ address, family }]);
      else callback(null, address, family);
    }) as unknown as LookupFunction;

    const requestHeaders: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers)) requestHeaders[name.toLowerCase()] = value;
    requestHeaders['host'] = url.host;
    requestHeaders['user-agent'] = WEBHOOK_USER_AGENT;
    requestHeaders['content-type'] ??= 'application/json';
    requestHeaders['content-length'] = String(Buffer.byteLength(body));
    delete requestHeaders['transfer-encoding'];
    delete requestHeaders['connection'];

    const requestOptions: https.RequestOptions = {
      method: 'POST',
      // An IP-literal hostname skips `lookup`, so give the checked address itself.
      hostname: hostnameIsIP ? address : hostname,
      port: url.port === '' ? (isHttps ? 443 : 80) : Number(url.port),
      path: `${url.pathname}${url.search}`,
      headers: requestHeaders,
      lookup: pinnedLookup,
      // No pooling: every delivery gets its own connection to its own checked address.
      agent: false,
    };
    if (isHttps && !hostnameIsIP) requestOptions.servername = hostname;

    try {
      request = (isHttps ? https : http).request(requestOptions);
    } catch (error) {
      finish(describeError(error));
      return;
    }

    request.on('error', (error) => finish(describeError(error)));
    request.on('response', (response) => {
      status = response.statusCode ?? 0;
      latencyMs = elapsed();
      retryAfterSeconds = parseRetryAfter(response.headers['retry-after']);
      if (status === 0) {
        finish('response carried no status code');
        response.destroy();
        return;
      }
      let received = 0;
      response.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > maxResponseBytes) {
          // Enough: the body is never used, so stop reading and drop the connection.
          finish();
          response.destroy();
        }
      });
      response.on('end', () => finish());
      response.on('error', () => finish());
      response.on('close', () => finish());
    });
    request.end(body);
  });
}

/**
 * Retry-After as a number of seconds from now: either delay-seconds or an HTTP-date (a date in
 * the past gives 0). Null when absent or unparseable.
 */
export function parseRetryAfter(value: string | string[] | undefined, now: number = Date.now()): number | null {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (text === undefined || text === '') return null;
  if (/^[0-9]+$/.test(text)) {
    const seconds = Number(text);
    return Number.isSafeInteger(seconds) ? seconds : null;
  }
  // HTTP-date: IMF-fixdate, or the obsolete RFC 850 and asctime forms; all start with a day name.
  // (Date.parse alone accepts far too much, such as a bare "1".)
  if (!/^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,? /.test(text)) return null;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return null;
  return Math.max(0, Math.ceil((date - now) / 1000));
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code !== undefined && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
