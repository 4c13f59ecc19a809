/**
 * Every setting of `sigil`, read and checked once at start-up. The command line hands
 * `loadSettings` the environment and its flags; the frozen result is passed down, and no other
 * module reads the environment. SETTINGS is the one list of names and defaults: the README's
 * configuration table is checked against it (packages/server/test/config.test.ts).
 */
import { LOG_FORMATS, type LogFormat } from './http/log-output.js';
import { parseTrustProxy, type TrustProxy } from './http/trust-proxy.js';
import { notificationSettings, type NotificationConfig } from './notifications/config.js';
import { DEFAULT_HISTORY_RETENTION_DAYS, HISTORY_RETENTION_MAX_DAYS } from './retention/history.js';
import { relyingPartyOf } from './webauthn/settings.js';

/** Reads an integer port from a flag or environment value, or fails with a clear message. */
export function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid port: ${value}`);
  return port;
}

export const DEFAULTS = {
  host: '127.0.0.1',
  port: 8080,
  dataDir: './.sigil',
  dbPoolSize: 10,
  logLevel: 'info',
  pairingRateLimit: 10,
  metricsHost: '127.0.0.1',
  metricsRefreshSeconds: 15,
} as const;

/** How many requests of one organisation may wait for one device at once, unless SIGIL_MAX_PENDING_PER_DEVICE says otherwise. */
export const DEFAULT_MAX_PENDING_PER_DEVICE = 100;
/** The shortest SIGIL_METRICS_TOKEN accepted. */
export const METRICS_TOKEN_MIN_LENGTH = 16;

/** Everything `sigil` is configured with; frozen, from loadSettings. */
export interface Settings {
  host: string;
  port: number;
  dataDir: string;
  databaseUrl: string | undefined;
  dbPoolSize: number;
  /** Unset: asked on a new store's first start in a terminal, else "Sigil"; an existing store keeps its name. */
  orgName: string | undefined;
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  /** Unset: the default for the output (log-output.ts defaultLogging: terminal or not). */
  logLevel: string | undefined;
  logFormat: LogFormat | undefined;
  pairingRateLimit: number;
  maxPendingPerDevice: number;
  /** Days finished deliveries, notifications, events and pairings are kept; 0 keeps them for ever. */
  historyRetention: { days: number };
  trustProxy: TrustProxy;
  metrics: { token: string | null; host: string | undefined; port: number | undefined; refreshIntervalMs: number };
  webhooks: { allowPrivate: boolean; retryScheduleMs?: readonly number[]; timeoutMs?: number };
  webAuthn: { attestationRequired: boolean; publicUrl: string | undefined; rpId: string | undefined; metadataFile: string | undefined };
  notifications: Partial<NotificationConfig>;
  /** Unpack the build-time PGlite template into a new embedded store (SIGIL_PGLITE_TEMPLATE=off: run initdb). */
  pgliteTemplate: boolean;
}

/** Flags of `sigil serve` (and --data-dir of the other commands); they win over the environment. */
export interface SettingFlags {
  host?: string | undefined;
  port?: string | undefined;
  dataDir?: string | undefined;
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
  orgName?: string | undefined;
  logLevel?: string | undefined;
  logFormat?: string | undefined;
  metricsPort?: string | undefined;
  metricsHost?: string | undefined;
}

/** One documented setting: its flag and/or variable, and the default as the README states it. */
export interface SettingSpec {
  flag?: `--${string}`;
  env?: string;
  /** The default column of the README's configuration table starts with this. */
  documentedDefault: string;
}

export const SETTINGS: readonly SettingSpec[] = [
  { flag: '--host', documentedDefault: `\`${DEFAULTS.host}\`` },
  { flag: '--port', env: 'SIGIL_PORT', documentedDefault: `\`${DEFAULTS.port}\`` },
  { flag: '--data-dir', documentedDefault: `\`${DEFAULTS.dataDir}\`` },
  { env: 'DATABASE_URL', documentedDefault: 'unset' },
  { env: 'SIGIL_DB_POOL_SIZE', documentedDefault: `\`${DEFAULTS.dbPoolSize}\`` },
  { flag: '--org-name', env: 'SIGIL_ORG_NAME', documentedDefault: 'asked on first start in a terminal, else `Sigil`' },
  { flag: '--tls-cert', documentedDefault: 'HTTP' },
  { flag: '--tls-key', documentedDefault: 'HTTP' },
  { flag: '--log-level', env: 'SIGIL_LOG_LEVEL', documentedDefault: '`warn` on a terminal' },
  { flag: '--log-format', env: 'SIGIL_LOG_FORMAT', documentedDefault: '`pretty` on a terminal, `json` otherwise' },
  { env: 'SIGIL_PAIRING_RATE_LIMIT', documentedDefault: `\`${DEFAULTS.pairingRateLimit}\`` },
  { env: 'SIGIL_MAX_PENDING_PER_DEVICE', documentedDefault: `\`${DEFAULT_MAX_PENDING_PER_DEVICE}\`` },
  { env: 'SIGIL_HISTORY_RETENTION_DAYS', documentedDefault: `\`${DEFAULT_HISTORY_RETENTION_DAYS}\`` },
  { env: 'SIGIL_TRUST_PROXY', documentedDefault: 'off' },
  { env: 'SIGIL_METRICS_TOKEN', documentedDefault: 'none' },
  { flag: '--metrics-port', env: 'SIGIL_METRICS_PORT', documentedDefault: 'the API port' },
  { flag: '--metrics-host', env: 'SIGIL_METRICS_HOST', documentedDefault: 'the API port' },
  { env: 'SIGIL_METRICS_REFRESH_SECONDS', documentedDefault: `\`${DEFAULTS.metricsRefreshSeconds}\`` },
  { env: 'SIGIL_WEBHOOK_ALLOW_PRIVATE', documentedDefault: 'off' },
  { env: 'SIGIL_WEBHOOK_RETRY_SCHEDULE_MS', documentedDefault: 'about 24 h' },
  { env: 'SIGIL_WEBHOOK_TIMEOUT_MS', documentedDefault: '`15000`' },
  { env: 'SIGIL_PUBLIC_URL', documentedDefault: '`http://localhost:PORT` on loopback' },
  { env: 'SIGIL_RP_ID', documentedDefault: '`http://localhost:PORT` on loopback' },
  { env: 'SIGIL_ATTESTATION_REQUIRED', documentedDefault: 'off' },
  { env: 'SIGIL_ATTESTATION_METADATA', documentedDefault: 'Apple and Google roots only' },
  { env: 'SIGIL_PGLITE_TEMPLATE', documentedDefault: 'on' },
  { env: 'SIGIL_SMTP_URL', documentedDefault: 'unset' },
  { env: 'SIGIL_MAIL_FROM', documentedDefault: '`Sigil <sigil@localhost>`' },
  { env: 'SIGIL_VAPID_SUBJECT', documentedDefault: 'the public URL' },
  { env: 'SIGIL_NOTIFY_REMINDER_AT', documentedDefault: '`0.5`' },
];

/** An organisation name as given on the command line, in the environment or at the first-start prompt; empty is unset. */
export function parseOrgName(value: string): string | undefined {
  const name = value.trim();
  if (name.length > 100) throw new Error('the organisation name must be at most 100 characters');
  return name === '' ? undefined : name;
}

/** A setting with a bad value; the message names the setting. */
export class SettingError extends Error {
  override name = 'SettingError';
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * Reads and checks every setting: flags first, then the environment, then the defaults.
 * Throws a SettingError naming the first bad setting.
 */
export function loadSettings(env: Readonly<Record<string, string | undefined>>, flags: SettingFlags = {}): Readonly<Settings> {
  const given = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value === '' ? undefined : value;
  };
  /** Runs a parser, naming the setting (flag and variable) in its error. */
  const read = <T>(names: string, value: string | undefined, parse: (v: string) => T): T | undefined => {
    if (value === undefined) return undefined;
    try {
      return parse(value);
    } catch (err) {
      const reason = (err as Error).message;
      throw new SettingError(reason.includes(names.split(' ')[0]!) ? reason : `${names}: ${reason}`);
    }
  };
  const integer = (min: number, max: number) => (v: string) => {
    const n = Number(v);
    if (!/^\s*\d+\s*$/.test(v) || !Number.isSafeInteger(n) || n < min || n > max)
      throw new Error(`must be an integer from ${min} to ${max}, not "${v}"`);
    return n;
  };
  const boolean = (v: string) => {
    if (/^(true|1|yes)$/i.test(v)) return true;
    if (/^(false|0|no)$/i.test(v)) return false;
    throw new Error(`must be true or false, not "${v}"`);
  };
  const onOff = (v: string) => {
    if (v === 'on' || v === 'off') return v === 'on';
    throw new Error(`must be on or off, not "${v}"`);
  };

  const logLevel = read('--log-level (SIGIL_LOG_LEVEL)', flags.logLevel ?? given('SIGIL_LOG_LEVEL'), (v) => {
    if (!LOG_LEVELS.includes(v)) throw new Error(`must be one of ${LOG_LEVELS.join(', ')}, not "${v}"`);
    return v;
  });
  const logFormat = read('--log-format (SIGIL_LOG_FORMAT)', flags.logFormat || given('SIGIL_LOG_FORMAT'), (v) => {
    if (!(LOG_FORMATS as readonly string[]).includes(v)) throw new Error(`must be one of ${LOG_FORMATS.join(', ')}, not "${v}"`);
    return v as LogFormat;
  });
  const tlsCert = flags.tlsCert || undefined;
  const tlsKey = flags.tlsKey || undefined;
  if (Boolean(tlsCert) !== Boolean(tlsKey)) throw new SettingError('--tls-cert and --tls-key go together');
  const metricsToken = given('SIGIL_METRICS_TOKEN');
  if (metricsToken !== undefined && metricsToken.length < METRICS_TOKEN_MIN_LENGTH) {
    throw new SettingError(`SIGIL_METRICS_TOKEN must be at least ${METRICS_TOKEN_MIN_LENGTH} characters`);
  }
  const metricsPort = read('--metrics-port (SIGIL_METRICS_PORT)', flags.metricsPort ?? given('SIGIL_METRICS_PORT'), parsePort);
  const metricsHost = flags.metricsHost ?? given('SIGIL_METRICS_HOST');
  if (metricsHost !== undefined && metricsPort === undefined)
    throw new SettingError('--metrics-host (SIGIL_METRICS_HOST) needs --metrics-port (SIGIL_METRICS_PORT)');
  const refreshSeconds = read('SIGIL_METRICS_REFRESH_SECONDS', given('SIGIL_METRICS_REFRESH_SECONDS'), integer(1, 3600));
  const retrySchedule = read('SIGIL_WEBHOOK_RETRY_SCHEDULE_MS', given('SIGIL_WEBHOOK_RETRY_SCHEDULE_MS'), (v) => {
    const delays = v.split(',').map((s) => Number(s.trim()));
    if (delays.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new Error(`must be comma-separated milliseconds, not "${v}"`);
    return delays;
  });
  const publicUrl = given('SIGIL_PUBLIC_URL');
  const rpId = given('SIGIL_RP_ID');
  if (publicUrl !== undefined) read('SIGIL_PUBLIC_URL', publicUrl, (v) => relyingPartyOf(v, rpId));
  const webhookTimeout = read('SIGIL_WEBHOOK_TIMEOUT_MS', given('SIGIL_WEBHOOK_TIMEOUT_MS'), integer(1, 3_600_000));

  let notifications: Partial<NotificationConfig>;
  try {
    notifications = notificationSettings({
      SIGIL_SMTP_URL: given('SIGIL_SMTP_URL'),
      SIGIL_MAIL_FROM: given('SIGIL_MAIL_FROM'),
      SIGIL_VAPID_SUBJECT: given('SIGIL_VAPID_SUBJECT'),
      SIGIL_NOTIFY_REMINDER_AT: given('SIGIL_NOTIFY_REMINDER_AT'),
    });
  } catch (err) {
    throw new SettingError((err as Error).message);
  }

  const settings: Settings = {
    host: flags.host ?? DEFAULTS.host,
    port: read('--port (SIGIL_PORT)', flags.port ?? given('SIGIL_PORT'), parsePort) ?? DEFAULTS.port,
    dataDir: flags.dataDir ?? DEFAULTS.dataDir,
    databaseUrl: given('DATABASE_URL'),
    dbPoolSize: read('SIGIL_DB_POOL_SIZE', given('SIGIL_DB_POOL_SIZE'), integer(1, 1000)) ?? DEFAULTS.dbPoolSize,
    // An empty value (SIGIL_ORG_NAME= in a shell) counts as unset.
    orgName: read('--org-name (SIGIL_ORG_NAME)', flags.orgName ?? given('SIGIL_ORG_NAME'), parseOrgName),
    tlsCert,
    tlsKey,
    logLevel,
    logFormat,
    pairingRateLimit:
      read('SIGIL_PAIRING_RATE_LIMIT', given('SIGIL_PAIRING_RATE_LIMIT'), integer(1, 1_000_000)) ?? DEFAULTS.pairingRateLimit,
    maxPendingPerDevice:
      read('SIGIL_MAX_PENDING_PER_DEVICE', given('SIGIL_MAX_PENDING_PER_DEVICE'), integer(1, 100_000)) ?? DEFAULT_MAX_PENDING_PER_DEVICE,
    historyRetention: {
      days:
        read('SIGIL_HISTORY_RETENTION_DAYS', given('SIGIL_HISTORY_RETENTION_DAYS'), integer(0, HISTORY_RETENTION_MAX_DAYS)) ??
        DEFAULT_HISTORY_RETENTION_DAYS,
    },
    trustProxy: read('SIGIL_TRUST_PROXY', given('SIGIL_TRUST_PROXY'), parseTrustProxy) ?? false,
    metrics: {
      token: metricsToken ?? null,
      host: metricsHost,
      port: metricsPort,
      refreshIntervalMs: (refreshSeconds ?? DEFAULTS.metricsRefreshSeconds) * 1000,
    },
    webhooks: {
      allowPrivate: read('SIGIL_WEBHOOK_ALLOW_PRIVATE', given('SIGIL_WEBHOOK_ALLOW_PRIVATE'), boolean) ?? false,
      ...(retrySchedule !== undefined ? { retryScheduleMs: retrySchedule } : {}),
      ...(webhookTimeout !== undefined ? { timeoutMs: webhookTimeout } : {}),
    },
    webAuthn: {
      attestationRequired: read('SIGIL_ATTESTATION_REQUIRED', given('SIGIL_ATTESTATION_REQUIRED'), boolean) ?? false,
      publicUrl,
      rpId,
      metadataFile: given('SIGIL_ATTESTATION_METADATA'),
    },
    notifications,
    pgliteTemplate: read('SIGIL_PGLITE_TEMPLATE', given('SIGIL_PGLITE_TEMPLATE'), onOff) ?? true,
  };
  return deepFreeze(settings);
}

function deepFreeze<T extends object>(value: T): Readonly<T> {
  for (const inner of Object.values(value)) if (typeof inner === 'object' && inner !== null) deepFreeze(inner as object);
  return Object.freeze(value);
}
