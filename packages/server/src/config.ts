/** Reads an integer port from a flag or environment value, or fails with a clear message. */
export function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid port: ${value}`);
  return port;
}

export const DEFAULTS = {
  host: '127.0.0.1',
  port: 8080,
  dataDir: './.sigil',
} as const;

/** How many requests of one organisation may wait for one device at once, unless SIGIL_MAX_PENDING_PER_DEVICE says otherwise. */
export const DEFAULT_MAX_PENDING_PER_DEVICE = 100;

/** SIGIL_MAX_PENDING_PER_DEVICE: an integer from 1 to 100000, or unset. */
export function maxPendingPerDeviceFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  const value = env.SIGIL_MAX_PENDING_PER_DEVICE;
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 100_000) throw new Error(`SIGIL_MAX_PENDING_PER_DEVICE must be an integer from 1 to 100000, not ${value}`);
  return n;
}
