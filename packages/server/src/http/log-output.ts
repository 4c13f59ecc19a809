import { createRequire } from 'node:module';
import type PinoPretty from 'pino-pretty';

/** pino-pretty is loaded only when pretty output is asked for (a JSON log never needs it). */
const require = createRequire(import.meta.url);

/** How the server's log reaches its output: one JSON line per event, or readable lines for a person. */
export type LogFormat = 'json' | 'pretty';

export const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty'];

/**
 * What a terminal gets unless told otherwise: readable lines, and warnings and errors only, so a
 * routine request does not print a line. Anything else (a pipe, a file, a log collector) gets
 * JSON at `info`, one line per request.
 */
export function defaultLogging(isTTY: boolean): { format: LogFormat; level: string } {
  return isTTY ? { format: 'pretty', level: 'warn' } : { format: 'json', level: 'info' };
}

/** The destination stream for pretty output (written synchronously to stdout); undefined for JSON. */
export function prettyStream(format: LogFormat): NodeJS.WritableStream | undefined {
  if (format !== 'pretty') return undefined;
  const pinoPretty = require('pino-pretty') as typeof PinoPretty;
  return pinoPretty({ colorize: Boolean(process.stdout.isTTY), translateTime: 'HH:MM:ss', ignore: 'pid,hostname', sync: true });
}
