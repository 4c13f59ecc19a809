import { randomUUID } from 'node:crypto';
import { MpaValidationError, validateMpaRequest } from '@sigilauth/protocol';
import { AwaitTimeoutError, SigilApiError, SigilConfigError, SigilNetworkError, SigilValidationError } from './errors.js';
import { sleep, type HttpClient } from './http.js';
import type {
  AwaitResultOptions,
  CallOptions,
  MpaCreateOptions,
  MpaList,
  MpaListOptions,
  MpaRequest,
  MpaRequestInput,
  MpaResult,
} from './types.js';

const DEFAULT_POLL_INTERVAL_MS = 3_000;
/** A poll is placed this long after the request's expires_at, when the server reports the timeout. */
const EXPIRY_GRACE_MS = 100;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export class MpaApi {
  readonly #http: HttpClient;

  constructor(http: HttpClient) {
    this.#http = http;
  }

  /**
   * Creates an MPA request and returns it as created (status 'pending'). The body is checked with
   * the server's own validator first, so a malformed request throws a SigilValidationError with
   * the server's message and nothing is sent. Retries reuse one Idempotency-Key, so at most one
   * request is ever created per call.
   */
  async request(input: MpaRequestInput, options: MpaCreateOptions = {}): Promise<MpaRequest> {
    try {
      validateMpaRequest(input);
    } catch (err) {
      if (err instanceof MpaValidationError) throw new SigilValidationError(err.message, err);
      throw err;
    }
    const idempotencyKey = options.idempotencyKey ?? randomUUID();
    if (!IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw new SigilValidationError('Idempotency-Key must be 1-255 printable ASCII characters');
    }
    return this.#http.request<MpaRequest>({
      method: 'POST',
      path: '/v1/mpa/requests',
      body: input,
      idempotent: true,
      idempotencyKey,
      signal: options.signal,
    });
  }

  /** The current state of one request. A pending request past its expiry is reported as 'timeout'. */
  async get(requestId: string, options: CallOptions = {}): Promise<MpaRequest> {
    return this.#get(requestId, options.signal);
  }

  /** One page of requests, newest first. */
  async list(options: MpaListOptions & CallOptions = {}): Promise<MpaList> {
    const { status, limit, cursor, signal } = options;
    if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1 && limit <= 100)) {
      throw new SigilValidationError('limit must be an integer from 1 to 100');
    }
    return this.#http.request<MpaList>({
      method: 'GET',
      path: '/v1/mpa/requests',
      query: { status, limit, cursor },
      idempotent: true,
      signal,
    });
  }

  /**
   * Cancels a pending request and returns it with status 'cancelled'. A request that has already
   * finished gives a SigilApiError with status 409, code 'request_completed' and details.status.
   */
  async cancel(requestId: string, options: CallOptions = {}): Promise<MpaRequest> {
    const path = `${requestPath(requestId)}/cancel`;
    try {
      return await this.#http.request<MpaRequest>({ method: 'POST', path, idempotent: true, signal: options.signal });
    } catch (err) {
      // A retry after an attempt whose response was lost: that attempt's cancel took effect.
      if (err instanceof SigilApiError && err.status === 409 && err.attempts > 1 && err.details?.status === 'cancelled') {
        return this.#get(requestId, options.signal);
      }
      throw err;
    }
  }

  /**
   * Polls until the request is no longer pending and resolves with it: approved, rejected,
   * timeout (the request expired) or cancelled. Rejects with an AwaitTimeoutError only when
   * `timeout` ms pass first. A poll is placed just after the request's expires_at, so an
   * expired request is reported promptly.
   */
  async awaitResult(requestId: string, options: AwaitResultOptions = {}): Promise<MpaResult> {
    const { pollInterval = DEFAULT_POLL_INTERVAL_MS, timeout, signal } = options;
    if (!(Number.isFinite(pollInterval) && pollInterval > 0)) {
      throw new SigilConfigError('awaitResult: pollInterval must be a positive number of milliseconds');
    }
    if (timeout !== undefined && !(Number.isFinite(timeout) && timeout >= 0)) {
      throw new SigilConfigError('awaitResult: timeout must be a non-negative number of milliseconds');
    }
    const deadline = timeout === undefined ? Infinity : Date.now() + timeout;
    let last: MpaRequest | undefined;
    for (;;) {
      try {
        last = await this.#get(requestId, signal, deadline);
      } catch (err) {
        // Transient failures that outlast the deadline are the deadline's fault.
        if (Date.now() >= deadline && isTransient(err)) throw new AwaitTimeoutError(requestId, timeout!, last, err);
        throw err;
      }
      if (last.status !== 'pending') return last as MpaResult;
      const now = Date.now();
      if (now >= deadline) throw new AwaitTimeoutError(requestId, timeout!, last);
      let wait = Math.min(pollInterval, deadline - now);
      const untilExpiry = Date.parse(last.expires_at) - now;
      if (untilExpiry > 0) wait = Math.min(wait, untilExpiry + EXPIRY_GRACE_MS);
      await sleep(wait, signal);
    }
  }

  #get(requestId: string, signal: AbortSignal | undefined, deadline?: number): Promise<MpaRequest> {
    return this.#http.request<MpaRequest>({
      method: 'GET',
      path: requestPath(requestId),
      idempotent: true,
      signal,
      ...(deadline !== undefined && deadline !== Infinity ? { deadline } : {}),
    });
  }
}

function requestPath(requestId: string): string {
  if (typeof requestId !== 'string' || requestId === '') throw new SigilValidationError('request_id is required');
  return `/v1/mpa/requests/${encodeURIComponent(requestId)}`;
}

function isTransient(err: unknown): boolean {
  return err instanceof SigilNetworkError || (err instanceof SigilApiError && (err.status === 429 || err.status >= 500));
}
