/** fetch with authentication, per-attempt timeouts, retries with backoff, and error mapping. */
import { backoffDelay, parseErrorBody } from '@sigilauth/protocol';
import { SigilApiError, SigilError, SigilNetworkError } from './errors.js';

export const DEFAULT_MAX_RETRIES = 3;
export const DEFAULT_TIMEOUT_MS = 30_000;
const BACKOFF_BASE_MS = 200;
const BACKOFF_CAP_MS = 5_000;
/** A Retry-After longer than this is not waited for: the error is thrown (it carries retryAfterMs). */
const MAX_RETRY_AFTER_MS = 60_000;
const USER_AGENT = `sigil-sdk-node/0.1.0 node/${process.version}`;

export type FetchLike = typeof globalThis.fetch;

export interface HttpClientOptions {
  baseUrl: string;
  apiKey: string;
  fetch: FetchLike;
  maxRetries: number;
  timeoutMs: number;
}

export interface HttpRequest {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  /**
   * Whether repeating the request is harmless (GET, DELETE, a POST carrying an Idempotency-Key,
   * cancel). Otherwise only failures that prove the server never acted on it are retried:
   * 429 and refused connections.
   */
  idempotent: boolean;
  idempotencyKey?: string;
  signal?: AbortSignal | undefined;
  /**
   * Epoch ms: no attempt starts after it and none may run much beyond it; when the next retry
   * would fall after it, the call fails at the deadline with the last error.
   */
  deadline?: number;
}

/** How long the last attempt before a deadline may still take. */
const MIN_ATTEMPT_MS = 1_000;

export class HttpClient {
  readonly #baseUrl: string;
  readonly #apiKey: string;
  readonly #fetch: FetchLike;
  readonly #maxRetries: number;
  readonly #timeoutMs: number;

  constructor(options: HttpClientOptions) {
    this.#baseUrl = options.baseUrl;
    this.#apiKey = options.apiKey;
    this.#fetch = options.fetch;
    this.#maxRetries = options.maxRetries;
    this.#timeoutMs = options.timeoutMs;
  }

  async request<T>(req: HttpRequest): Promise<T> {
    const url = this.#url(req.path, req.query);
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.#apiKey}`,
      accept: 'application/json',
      'user-agent': USER_AGENT,
    };
    let body: string | undefined;
    if (req.body !== undefined) {
      body = JSON.stringify(req.body);
      headers['content-type'] = 'application/json';
    }
    if (req.idempotencyKey !== undefined) headers['idempotency-key'] = req.idempotencyKey;
    const deadline = req.deadline ?? Infinity;

    for (let attempt = 1; ; attempt++) {
      req.signal?.throwIfAborted();
      const outcome = await this.#attempt<T>(url, req, headers, body, attempt, deadline);
      if (outcome.ok) return outcome.value;
      const { error, retryable, retryAfterMs } = outcome;
      if (!retryable || attempt > this.#maxRetries) throw error;
      let delay: number;
      if (retryAfterMs !== undefined) {
        if (retryAfterMs > MAX_RETRY_AFTER_MS) throw error;
        delay = retryAfterMs;
      } else {
        delay = backoff(attempt);
      }
      if (Date.now() + delay >= deadline) {
        // The next attempt would come too late: give up, but at the deadline rather than before it.
        await sleep(Math.max(0, deadline - Date.now()), req.signal);
        throw error;
      }
      await sleep(delay, req.signal);
    }
  }

  async #attempt<T>(
    url: string,
    req: HttpRequest,
    headers: Record<string, string>,
    body: string | undefined,
    attempt: number,
    deadline: number,
  ): Promise<{ ok: true; value: T } | { ok: false; error: SigilError; retryable: boolean; retryAfterMs?: number | undefined }> {
    const timeoutMs = Math.min(this.#timeoutMs, Math.max(deadline - Date.now(), MIN_ATTEMPT_MS));
    // Combined by hand rather than with AbortSignal.any, which on Node 20 leaves a listener on a
    // long-lived caller signal for every attempt.
    const timeout = AbortSignal.timeout(timeoutMs);
    const controller = new AbortController();
    const onTimeout = () => controller.abort(timeout.reason);
    const onCallerAbort = () => controller.abort(req.signal?.reason);
    timeout.addEventListener('abort', onTimeout, { once: true });
    req.signal?.addEventListener('abort', onCallerAbort, { once: true });
    if (req.signal?.aborted) onCallerAbort();
    let response: Response;
    let text: string;
    try {
      response = await this.#fetch(url, { method: req.method, headers, body, signal: controller.signal, redirect: 'manual' });
      text = await response.text();
    } catch (err) {
      if (req.signal?.aborted) throw req.signal.reason;
      const timedOut = timeout.aborted;
      const error = new SigilNetworkError(
        timedOut
          ? `${req.method} ${req.path}: no response within ${timeoutMs} ms`
          : `${req.method} ${req.path} failed: ${describeNetworkError(err)}`,
        { code: timedOut ? 'timeout' : 'network_error', attempts: attempt, cause: err },
      );
      return { ok: false, error, retryable: req.idempotent || isConnectionRefused(err) };
    } finally {
      timeout.removeEventListener('abort', onTimeout);
      req.signal?.removeEventListener('abort', onCallerAbort);
    }

    if (response.status >= 200 && response.status < 300) {
      if (text === '') return { ok: true, value: undefined as T };
      try {
        return { ok: true, value: JSON.parse(text) as T };
      } catch (err) {
        throw new SigilError(`${req.method} ${req.path}: the server's response is not JSON`, {
          code: 'invalid_response',
          status: response.status,
          cause: err,
        });
      }
    }

    const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
    const error = apiError(req, response, text, attempt, retryAfterMs);
    const retryable = response.status === 429 || (response.status >= 500 && req.idempotent);
    return { ok: false, error, retryable, retryAfterMs };
  }

  #url(path: string, query: HttpRequest['query']): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) if (value !== undefined) params.set(key, String(value));
    const search = params.toString();
    return `${this.#baseUrl}${path}${search ? `?${search}` : ''}`;
  }
}

function apiError(req: HttpRequest, response: Response, text: string, attempts: number, retryAfterMs: number | undefined): SigilApiError {
  const status = response.status;
  let code = `http_${status}`;
  let message = `${req.method} ${req.path}: HTTP ${status}${response.statusText ? ` ${response.statusText}` : ''}`;
  let details: Record<string, unknown> | undefined;
  const body = parseErrorBody(text);
  if (body?.code !== undefined) code = body.code;
  if (body?.message !== undefined) message = body.message;
  if (body?.details !== undefined) details = body.details;
  if (status >= 300 && status < 400) {
    code = 'unexpected_redirect';
    message = `${req.method} ${req.path}: unexpected redirect (HTTP ${status}) to ${response.headers.get('location') ?? 'nowhere'}; check serviceUrl`;
  }
  return new SigilApiError(message, { code, status, details, attempts, retryAfterMs });
}

/** The delay before retry `attempt` (from 1): the shared formula, uniform in [0, min(5 s, 200 ms × 2^(attempt-1))]. */
export function backoff(attempt: number): number {
  return backoffDelay(attempt - 1, BACKOFF_BASE_MS, BACKOFF_CAP_MS);
}

/** Retry-After as delta-seconds or an HTTP-date, in ms from now; undefined when absent or invalid. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // Every HTTP-date form (IMF-fixdate, RFC 850, asctime) starts with a day name.
  const date = /^[A-Za-z]{3}/.test(trimmed) ? Date.parse(trimmed) : NaN;
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function errorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** The connection was refused: the request certainly never reached the server. */
function isConnectionRefused(err: unknown): boolean {
  return errorCode(err) === 'ECONNREFUSED';
}

function describeNetworkError(err: unknown): string {
  const code = errorCode(err);
  const cause = (err as { cause?: { message?: unknown } })?.cause;
  const message = typeof cause?.message === 'string' ? cause.message : err instanceof Error ? err.message : String(err);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}
