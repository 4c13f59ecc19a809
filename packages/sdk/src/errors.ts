import type { MpaRequest } from './types.js';

export interface SigilErrorOptions {
  code: string;
  status?: number | undefined;
  details?: Record<string, unknown> | undefined;
  cause?: unknown;
}

/** Base class of every error the SDK throws (webhook verification aside: see WebhookVerificationError). */
export class SigilError extends Error {
  /** Machine-readable reason, e.g. 'invalid_request', 'not_found', 'network_error', 'await_timeout'. */
  readonly code: string;
  /** The HTTP status when the server answered; undefined when no response was involved. */
  readonly status: number | undefined;
  /** Extra structured data, e.g. the server's `error.details`. */
  readonly details: Record<string, unknown> | undefined;

  constructor(message: string, options: SigilErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code;
    this.status = options.status;
    this.details = options.details;
  }
}

/** The SDK was configured wrongly: no API key, a plain-http URL to a remote host, a bad option. */
export class SigilConfigError extends SigilError {
  constructor(message: string, code = 'invalid_config') {
    super(message, { code });
  }
}

/** A request failed the SDK's own checks before anything was sent; the messages match the server's. */
export class SigilValidationError extends SigilError {
  override readonly code = 'invalid_request';
  override readonly status = undefined;

  constructor(message: string, cause?: unknown) {
    super(message, { code: 'invalid_request', cause });
  }
}

/** The server answered with an error: `{ error: { code, message, details? } }` and an HTTP status. */
export class SigilApiError extends SigilError {
  declare readonly status: number;
  /** How many HTTP attempts were made, retries included. */
  readonly attempts: number;
  /** The server's Retry-After, in milliseconds, when it sent one. */
  readonly retryAfterMs: number | undefined;

  constructor(
    message: string,
    options: {
      code: string;
      status: number;
      details?: Record<string, unknown> | undefined;
      attempts: number;
      retryAfterMs?: number | undefined;
    },
  ) {
    super(message, options);
    this.attempts = options.attempts;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** No usable response: the connection failed, or the per-request timeout passed ('timeout'). */
export class SigilNetworkError extends SigilError {
  readonly attempts: number;

  constructor(message: string, options: { code: 'network_error' | 'timeout'; attempts: number; cause?: unknown }) {
    super(message, options);
    this.attempts = options.attempts;
  }
}

/** awaitResult's own `timeout` passed while the request was still pending. */
export class AwaitTimeoutError extends SigilError {
  override readonly code = 'await_timeout';
  readonly requestId: string;
  /** The last state seen, when at least one poll succeeded. */
  readonly lastSeen: MpaRequest | undefined;

  constructor(requestId: string, timeoutMs: number, lastSeen: MpaRequest | undefined, cause?: unknown) {
    super(`MPA request ${requestId} was still pending when awaitResult's timeout of ${timeoutMs} ms passed`, {
      code: 'await_timeout',
      cause,
    });
    this.requestId = requestId;
    this.lastSeen = lastSeen;
  }
}

export type AuditVerificationErrorCode = 'forged_tree_head' | 'other_log' | 'log_truncated' | 'log_inconsistent';

/**
 * A check of the audit log against a saved tree head failed: a head not signed by the pinned
 * server key, a head of another log, or a log that was cut short or rewritten since the saved
 * head. Treat it as an alarm.
 */
export class AuditVerificationError extends SigilError {
  declare readonly code: AuditVerificationErrorCode;

  constructor(code: AuditVerificationErrorCode, message: string) {
    super(message, { code });
  }
}
