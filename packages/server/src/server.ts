import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import { DEFAULT_MAX_PENDING_PER_DEVICE, maxPendingPerDeviceFromEnv } from './config.js';
import { startAuditIntegrator } from './audit/integrator.js';
import type { LogFormat } from './http/log-output.js';
import { parseTrustProxy, type TrustProxy } from './http/trust-proxy.js';
import { loadServerIdentity, type ServerIdentity } from './identity/server-identity.js';
import { createMetrics, startStorageGaugeRefresh, STORAGE_GAUGE_REFRESH_MS } from './metrics.js';
import { checkMetricsToken, metricsConfigFromEnv, startMetricsListener, type MetricsEndpointConfig } from './metrics-endpoint.js';
import { startExpirySweeper } from './mpa/expiry-sweeper.js';
import { DEFAULT_NOTIFICATION_CONFIG, notificationConfigFromEnv, type NotificationConfig } from './notifications/config.js';
import { notificationMetrics } from './notifications/metrics.js';
import { loadVapidKeys } from './notifications/vapid.js';
import { startNotificationWorker } from './notifications/worker.js';
import type { Database } from './storage/database.js';
import { openStorage } from './storage/open.js';
import { createApiKey } from './tenants/api-keys.js';
import { createTenant, defaultTenant, renameTenant } from './tenants/tenants.js';
import { DEFAULT_WEBHOOK_CONFIG, webhookConfigFromEnv, type WebhookConfig } from './webhooks/config.js';
import { startWebhookWorker } from './webhooks/worker.js';
import { loadAttestationMetadata } from './webauthn/attestation.js';
import { WebAuthnSettings, webAuthnConfigFromEnv, type WebAuthnConfig } from './webauthn/settings.js';

export interface ServerConfig {
  host: string;
  port: number;
  dataDir: string;
  databaseUrl?: string | undefined;
  dbPoolSize?: number;
  orgName?: string | undefined;
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
  logLevel?: string;
  /** `json` (default) or `pretty` (readable lines, for a terminal). */
  logFormat?: LogFormat;
  /** Asked for the organisation's name when the store has none yet and orgName is unset (a terminal's prompt). */
  askOrgName?: () => Promise<string | undefined>;
  pairingRateLimit?: number;
  /** Which proxies' X-Forwarded-For to believe; SIGIL_TRUST_PROXY when unset. */
  trustProxy?: TrustProxy;
  clock?: () => number;
  /** Webhook delivery settings; unset fields come from the environment (SIGIL_WEBHOOK_*), then the defaults. */
  webhooks?: Partial<WebhookConfig>;
  /** Push, email and Slack notifications; unset fields come from the environment (SIGIL_SMTP_URL, SIGIL_MAIL_FROM, SIGIL_VAPID_SUBJECT, SIGIL_NOTIFY_REMINDER_AT), then the defaults. */
  notifications?: Partial<NotificationConfig>;
  /** Audit integrator intervals (tests shorten them). */
  audit?: { intervalMs?: number; signIntervalMs?: number };
  /** Passkeys and attestation; unset fields come from the environment (SIGIL_PUBLIC_URL, SIGIL_RP_ID, SIGIL_ATTESTATION_*). */
  webAuthn?: Partial<WebAuthnConfig>;
  /** Requests of one organisation that may wait for one device at once; unset: SIGIL_MAX_PENDING_PER_DEVICE, then 100. */
  maxPendingPerDevice?: number;
  /**
   * /metrics: a token, a separate listener (host and port), the storage gauges' refresh interval;
   * unset fields come from the environment (SIGIL_METRICS_*), then the defaults (API port, no token, 15 s).
   */
  metrics?: { token?: string | null; host?: string; port?: number; refreshIntervalMs?: number };
}

export interface RunningServer {
  url: string;
  app: FastifyInstance;
  db: Database;
  identity: ServerIdentity;
  /** Set only when this start created the store's first organisation. */
  firstApiKey: string | null;
  /** Where browsers reach the web approver and console; null without SIGIL_PUBLIC_URL on a non-loopback address. */
  publicOrigin: string | null;
  /** The separate metrics listener's base URL, when there is one. */
  metricsUrl: string | null;
  close(): Promise<void>;
}

/** Any constant: instances starting together on an empty store agree on one first organisation. */
const INITIALISE_LOCK = 7_135_522;

/** Makes sure an empty store has an organisation and one API key; returns the key if it made one. */
async function initialise(db: Database, orgName: string | undefined): Promise<string | null> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [INITIALISE_LOCK]);
    const existing = await defaultTenant(tx);
    if (existing) {
      if (orgName && orgName !== existing.name) await renameTenant(tx, existing.id, orgName);
      return null;
    }
    const tenant = await createTenant(tx, orgName ?? 'Sigil');
    return (await createApiKey(tx, tenant.id, 'default', 'live')).key;
  });
}

export async function startServer(config: ServerConfig): Promise<RunningServer> {
  const trustProxy = config.trustProxy ?? parseTrustProxy(process.env.SIGIL_TRUST_PROXY);
  const db = await openStorage({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.dbPoolSize ?? 10 });
  const clock = config.clock ?? Date.now;
  try {
    const identity = await loadServerIdentity(db);
    const orgName = config.orgName ?? (config.askOrgName && !(await defaultTenant(db)) ? await config.askOrgName() : undefined);
    const firstApiKey = await initialise(db, orgName);
    const webhookConfig: WebhookConfig = { ...DEFAULT_WEBHOOK_CONFIG, ...webhookConfigFromEnv(process.env), ...config.webhooks };
    const notificationConfig: NotificationConfig = {
      ...DEFAULT_NOTIFICATION_CONFIG,
      allowPrivate: webhookConfig.allowPrivate,
      lookup: webhookConfig.lookup,
      ...notificationConfigFromEnv(process.env),
      ...config.notifications,
    };
    const vapid = await loadVapidKeys(db);
    const webAuthn = new WebAuthnSettings({ ...webAuthnConfigFromEnv(process.env), ...config.webAuthn });
    const maxPendingPerDevice = config.maxPendingPerDevice ?? maxPendingPerDeviceFromEnv(process.env) ?? DEFAULT_MAX_PENDING_PER_DEVICE;
    if (webAuthn.metadataFile) await loadAttestationMetadata(webAuthn.metadataFile);
    const metricsConfig = resolveMetricsConfig(config.metrics);
    const https = config.tlsCert && config.tlsKey ? { cert: readFileSync(config.tlsCert), key: readFileSync(config.tlsKey) } : null;
    const metrics = createMetrics(db);
    const { app, gateway, treeHeads } = await buildApp({
      db,
      identity,
      metrics,
      metricsEndpoint: { onApiPort: metricsConfig.listen === null, token: metricsConfig.token },
      clock,
      logger: { level: config.logLevel ?? 'info', format: config.logFormat ?? 'json' },
      https,
      webhooks: { allowPrivate: webhookConfig.allowPrivate, lookup: webhookConfig.lookup },
      webAuthn,
      maxPendingPerDevice,
      trustProxy,
      ...(config.pairingRateLimit ? { pairingRateLimit: config.pairingRateLimit } : {}),
    });
    const stopSweeper = startExpirySweeper(db, clock, app.log);
    const metricsListener = metricsConfig.listen ? await startMetricsListener(metrics, { ...metricsConfig, listen: metricsConfig.listen }) : null;
    try {
      await app.listen({ host: config.host, port: config.port });
    } catch (err) {
      await metricsListener?.close();
      throw err;
    }
    const stopGaugeRefresh = startStorageGaugeRefresh(metrics, metricsConfig.refreshIntervalMs, app.log);
    const webhookWorker = await startWebhookWorker({ db, log: app.log, config: webhookConfig, ...(config.clock ? { clock: config.clock } : {}) });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    webAuthn.listening(https ? 'https' : 'http', config.host, port);
    const url = `${https ? 'https' : 'http'}://${host}:${port}`;
    const notificationWorker = await startNotificationWorker({
      db,
      log: app.log,
      config: notificationConfig,
      vapid,
      publicOrigin: () => webAuthn.relyingParty()?.origin ?? url,
      counter: notificationMetrics(metrics.registry),
      ...(config.clock ? { clock: config.clock } : {}),
    });
    const stopIntegrator = startAuditIntegrator({
      db,
      signing: treeHeads,
      clock,
      log: app.log,
      ...config.audit,
    });
    let closing: Promise<void> | null = null;
    return {
      url,
      app,
      db,
      identity,
      firstApiKey,
      publicOrigin: webAuthn.relyingParty()?.origin ?? null,
      metricsUrl: metricsListener?.url ?? null,
      close: () =>
        (closing ??= (async () => {
          await metricsListener?.close();
          await stopGaugeRefresh();
          await stopSweeper();
          await webhookWorker.stop();
          await notificationWorker.stop();
          await stopIntegrator();
          await gateway.stop();
          await app.close();
          await db.close();
        })()),
    };
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
}

function resolveMetricsConfig(given: ServerConfig['metrics'] = {}): MetricsEndpointConfig {
  const merged = { ...metricsConfigFromEnv(process.env), ...given };
  const token = merged.token ?? null;
  checkMetricsToken(token);
  if (merged.host !== undefined && merged.port === undefined) throw new Error('--metrics-host (SIGIL_METRICS_HOST) needs --metrics-port (SIGIL_METRICS_PORT)');
  return {
    token,
    listen: merged.port !== undefined ? { host: merged.host ?? '127.0.0.1', port: merged.port } : null,
    refreshIntervalMs: merged.refreshIntervalMs ?? STORAGE_GAUGE_REFRESH_MS,
  };
}
