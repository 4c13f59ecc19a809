/**
 * What may reach a log line. Three layers, because a secret that reaches a log has leaked:
 * requests are logged without their query string; errors are logged as their type, code and
 * message only (database errors carry the statement's parameters and, for a constraint
 * violation, the whole failing row: a freshly generated webhook secret included); and every
 * string that is logged anyway passes through a scrubber that masks anything shaped like a
 * Sigil secret.
 */
import type { FastifyRequest, FastifyServerOptions } from 'fastify';

/** Shapes of secrets Sigil issues or handles; each match is replaced by its label. */
const SECRET_PATTERNS: Array<[RegExp, string]> = [
  [/sgk_(?:live|test)_[0-9A-Za-z]+/g, 'sgk_[redacted]'],
  [/whsec_[A-Za-z0-9+/=_-]+/g, 'whsec_[redacted]'],
  [/(sigil_approver=)[^;\s"']+/g, '$1[redacted]'],
  [/(\bBearer\s+)[^\s"',;]+/gi, '$1[redacted]'],
  // user:password@ in a connection string (DATABASE_URL).
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@"']+:)[^\s@"']+@/gi, '$1[redacted]@'],
  // A pairing code: 8 digits, possibly grouped (1234-5678, 1234 5678).
  [/(?<![\w.:-])\d{4}[- ]?\d{4}(?![\w.:-])/g, '[code redacted]'],
];

export function scrubSecrets(text: string): string {
  let out = text;
  for (const [pattern, replacement] of SECRET_PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

/** An error as it may be logged: never a database error's detail, parameters, statement or row. */
export function safeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) {
    // Already reduced by the scrubber (an error nested in a logged object), or not an error at all.
    return isPlainObject(err) ? (scrubLogValue(err) as Record<string, unknown>) : { message: scrubSecrets(String(err)) };
  }
  const code = (err as { code?: unknown }).code;
  return {
    type: err.constructor?.name ?? 'Error',
    ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
    message: scrubSecrets(err.message),
    ...(err.stack ? { stack: scrubSecrets(err.stack) } : {}),
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Copy of a log argument with every string scrubbed and every error reduced to safeError. Only
 * plain objects and arrays are copied; other objects (a request, a reply) are left to their
 * serializers.
 */
export function scrubLogValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubSecrets(value);
  if (value instanceof Error) return safeError(value);
  if (Buffer.isBuffer(value)) return `[${value.length} bytes]`;
  if (!Array.isArray(value) && !isPlainObject(value)) return value;
  if (depth > 8) return '[nested too deep]';
  if (Array.isArray(value)) return value.map((v) => scrubLogValue(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrubLogValue(v, depth + 1);
  return out;
}

/** The path of a request URL without its query string (query strings may carry secrets). */
export function pathOnly(url: string | undefined): string {
  return scrubSecrets((url ?? '').split('?')[0] ?? '');
}

type LoggerOptions = Exclude<NonNullable<FastifyServerOptions['logger']>, boolean>;

/** pino options for every server log: redaction, serializers and the scrubber. */
export function safeLoggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'], censor: '[redacted]' },
    serializers: {
      req: (request: FastifyRequest) => ({
        method: request.method,
        url: pathOnly(request.url),
        ...(request.routeOptions?.url ? { route: request.routeOptions.url } : {}),
        remoteAddress: request.ip,
      }),
      err: (err: Error) => ({ type: 'Error', message: '', stack: '', ...safeError(err) }),
    },
    hooks: {
      logMethod(args, method) {
        // Arguments are (mergingObject?, message?, ...interpolation); every one is scrubbed.
        method.apply(this, args.map((a) => scrubLogValue(a)) as Parameters<typeof method>);
      },
    },
  };
}
