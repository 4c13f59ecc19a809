/**
 * One gate for every route: text the store cannot hold faithfully never reaches a handler.
 *
 * PostgreSQL refuses U+0000 in text and jsonb and turns lone UTF-16 surrogates into errors or
 * replacement characters, and JSON numbers beyond 1.8e308 parse to Infinity. Checking each field
 * where it is stored would leave every new field to remember it; refusing such input before
 * validation, for the body, the query string and the path of every request, does not.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Socket } from 'node:net';
import { ApiError } from './errors.js';

/** The first problem in a parsed value, as "where: what", or null when it is clean. */
export function findForbiddenInput(value: unknown, where: string): string | null {
  // Iterative, so a deeply nested body cannot exhaust the stack.
  const stack: Array<[unknown, string]> = [[value, where]];
  while (stack.length > 0) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      const problem = textProblem(v);
      if (problem) return `${path} ${problem}`;
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) return `${path} is a number out of range`;
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${path}/${i}`]);
    } else if (typeof v === 'object' && v !== null) {
      for (const key of Object.keys(v)) {
        const problem = textProblem(key);
        if (problem) return `${path} has a field name that ${problem}`;
        stack.push([(v as Record<string, unknown>)[key], `${path}/${key}`]);
      }
    }
  }
  return null;
}

function textProblem(s: string): string | null {
  if (s.includes('\u0000')) return 'contains U+0000 (NUL), which is not allowed';
  if (!s.isWellFormed()) return 'contains a lone UTF-16 surrogate (not valid Unicode)';
  return null;
}

/** Percent-escapes in a query string must decode to UTF-8; a sequence that does not is refused, not guessed at. */
function queryEncodingProblem(url: string): string | null {
  const q = url.indexOf('?');
  if (q < 0) return null;
  for (const part of url.slice(q + 1).split('&')) {
    try {
      decodeURIComponent(part.replace(/\+/g, ' '));
    } catch {
      return 'the query string has a percent-escape that is not valid UTF-8';
    }
  }
  return null;
}

function checkRequest(request: FastifyRequest): void {
  const problem =
    queryEncodingProblem(request.raw.url ?? '') ??
    findForbiddenInput(request.params, 'params') ??
    findForbiddenInput(request.query, 'querystring') ??
    findForbiddenInput(request.body, 'body');
  if (problem) throw new ApiError('invalid_request', problem);
}

/** Earliest and latest instants accepted in any date-time field: years 0001-9999, as PostgreSQL and JavaScript both hold them. */
export const TIMESTAMP_MIN_MS = new Date('0001-01-01T00:00:00.000Z').getTime();
export const TIMESTAMP_MAX_MS = new Date('9999-12-31T23:59:59.999Z').getTime();

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * An RFC 3339 date-time that names a real instant in years 0001-9999 UTC. Stricter than the
 * JSON Schema format: no leap second (JavaScript cannot represent one), no year 0000 (PostgreSQL
 * has none), and the calendar date must exist.
 */
export function isSupportedTimestamp(value: string): boolean {
  const m = RFC3339.exec(value);
  if (!m) return false;
  const [, year, month, day, hour, minute, second] = m.map(Number) as number[];
  if (month! < 1 || month! > 12 || day! < 1 || hour! > 23 || minute! > 59 || second! > 59) return false;
  if (day! > new Date(Date.UTC(2000, month!, 0)).getUTCDate() || (month === 2 && day === 29 && !isLeapYear(year!))) return false;
  const ms = Date.parse(value);
  return Number.isFinite(ms) && ms >= TIMESTAMP_MIN_MS && ms <= TIMESTAMP_MAX_MS;
}

const isLeapYear = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

/** Ajv hook (Fastify's `ajv.onCreate`): every `format: date-time` in every route schema means isSupportedTimestamp. */
export function useSupportedTimestamps(ajv: {
  addFormat(name: string, format: { type: 'string'; validate: (s: string) => boolean }): unknown;
}): void {
  ajv.addFormat('date-time', { type: 'string', validate: isSupportedTimestamp });
}

/** A malformed request line or header (e.g. a NUL byte in a header) gets the API's JSON error, not Node's bare 400. */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, reason, code, message] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'headers_too_large', 'the request headers are too large']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'request_timeout', 'the request took too long to arrive']
        : [400, 'Bad Request', 'invalid_request', 'malformed HTTP request: a header or the request line has a forbidden character'];
  const body = JSON.stringify({ error: { code, message } });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

export function installInputGuard(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => checkRequest(request));
}
