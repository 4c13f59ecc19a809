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
