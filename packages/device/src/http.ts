import { parseErrorBody } from '@sigilauth/protocol';
import { sanitizeText } from './screen.js';

/** The device's JSON calls to the server's HTTP API, and the error they fail with. */

export const HTTP_TIMEOUT_MS = 15_000;

/** A JSON error from the server: `{ error: { code, message, details? } }`, or a transport failure. */
export class SigilApiError extends Error {
  override name = 'SigilApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export async function requestJson(url: string, init: { method?: string; body?: unknown; timeoutMs?: number } = {}): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: init.method ?? 'GET',
      headers:
        init.body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      redirect: 'error',
      signal: AbortSignal.timeout(init.timeoutMs ?? HTTP_TIMEOUT_MS),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = (err as Error).name === 'TimeoutError' ? 'timed out' : (cause?.code ?? cause?.message ?? (err as Error).message);
    throw new SigilApiError(0, 'unreachable', `cannot reach ${new URL(url).origin}: ${why}`);
  }
  const text = await response.text();
  if (!response.ok) {
    const error = parseErrorBody(text);
    const code = error?.code !== undefined ? sanitizeText(error.code) : `http_${response.status}`;
    const message =
      error?.message !== undefined ? sanitizeText(error.message) : `HTTP ${response.status} ${sanitizeText(response.statusText)}`;
    throw new SigilApiError(response.status, code, message, error?.details);
  }
  let body: unknown = undefined;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (body === undefined)
    throw new SigilApiError(response.status, 'invalid_response', `the server sent a response that is not JSON (${url})`);
  return body;
}
