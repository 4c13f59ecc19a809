/**
 * What every client of a Sigil server shares (the Node SDK, `sigil-device`): the canonical form of
 * the server's base URL, and the delay before the next attempt after a failure. Pure, so it runs
 * in browsers too.
 */

/** A server URL that cannot be used; `problem` says why. */
export class ServiceUrlError extends Error {
  override name = 'ServiceUrlError';
  constructor(
    message: string,
    readonly problem: 'invalid' | 'scheme' | 'credentials' | 'query',
  ) {
    super(message);
  }
}

/**
 * Canonical form of a server's base URL: http(s) only, no credentials, query or fragment; the
 * origin plus the path without trailing slashes. `name` is what messages call it.
 */
export function normalizeServiceUrl(input: string, name = 'server URL'): { url: string; parsed: URL } {
  let parsed: URL;
  try {
    parsed = new URL(input);
  } catch {
    throw new ServiceUrlError(`${name} is not a valid URL: ${input}`, 'invalid');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ServiceUrlError(`${name} must be http:// or https://, not ${parsed.protocol}`, 'scheme');
  }
  if (parsed.username !== '' || parsed.password !== '') throw new ServiceUrlError(`${name} must not contain credentials`, 'credentials');
  if (parsed.search !== '' || parsed.hash !== '') throw new ServiceUrlError(`${name} must not have a query or fragment`, 'query');
  return { url: `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`, parsed };
}

/**
 * Exponential backoff with full jitter: uniform in [0, min(capMs, baseMs × 2^attempt)], the first
 * attempt being 0. The Go SDK uses the same formula.
 */
export function backoffDelay(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  return Math.round(random() * Math.min(capMs, baseMs * 2 ** Math.min(Math.max(0, attempt), 30)));
}

/**
 * The parts of a server's error body `{ "error": { "code", "message", "details"? } }` that have
 * the right types; undefined when the text is not such a body (a proxy's error page, say).
 * `code` is a string the client compares with the catalogue's codes (`ErrorCode`): a newer
 * server may answer with one this client does not know.
 */
export function parseErrorBody(text: string): { code?: string; message?: string; details?: Record<string, unknown> } | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const error = (parsed as { error?: unknown } | null)?.error;
  if (!error || typeof error !== 'object') return undefined;
  const { code, message, details } = error as { code?: unknown; message?: unknown; details?: unknown };
  return {
    ...(typeof code === 'string' ? { code } : {}),
    ...(typeof message === 'string' ? { message } : {}),
    ...(details && typeof details === 'object' && !Array.isArray(details) ? { details: details as Record<string, unknown> } : {}),
  };
}
