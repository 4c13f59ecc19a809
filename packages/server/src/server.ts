import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import { DEFAULT_MAX_PENDING_PER_DEVICE, DEFAULTS } from './config.js';
import { startAuditIntegrator } from './audit/integrator.js';
import type { LogFormat } from './http/log-output.js';
import type { TrustProxy } from './http/trust-proxy.js';
import { lateServerIdentity, type ServerIdentity } from './identity/server-identity.js';
import { createMetrics, startStorageGaugeRefresh, STORAGE_GAUGE_REFRESH_MS } from './metrics.js';
import { checkMetricsToken, startMetricsListener, type MetricsEndpointConfig } from './metrics-endpoint.js';
import { startExpirySweeper } from './mpa/expiry-sweeper.js';
import { startEmbeddedMaintenance } from './storage/embedded-maintenance.js';
import { DEFAULT_NOTIFICATION_CONFIG, type NotificationConfig } from './notifications/config.js';
import { notificationMetrics } from './notifications/metrics.js';
import { loadVapidKeys } from './notifications/vapid.js';
import { startNotificationWorker } from './notifications/worker.js';
import { DEFAULT_HISTORY_RETENTION_DAYS, startHistoryRetention, type HistoryRetention } from './retention/history.js';
import type { Database } from './storage/database.js';
import { openStorage, whenOpen } from './storage/open.js';
import { ensureFirstOrganisation } from './tenants/first-organisation.js';
import { defaultTenant } from './tenants/tenants.js';
import { DEFAULT_WEBHOOK_CONFIG, type WebhookConfig } from './webhooks/config.js';
import { startWebhookWorker } from './webhooks/worker.js';
import { loadAttestationMetadata } from './webauthn/attestation.js';
import { WebAuthnSettings, type WebAuthnConfig } from './webauthn/settings.js';

/**
 * What startServer runs with. `sigil serve` passes the Settings loadSettings read (config.ts);
 * tests and embedders pass what they need, and every field left out takes its default. Nothing
 * here is read from the environment.
 */
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
  /** How long a client may take to send a whole request (default 30 s): longer is answered 408 and the connection closed. */
  requestTimeoutMs?: number;
  /** Which proxies' X-Forwarded-For to believe (SIGIL_TRUST_PROXY); none when unset. */
  trustProxy?: TrustProxy;
  clock?: () => number;
  /** Webhook delivery settings; unset fields take the defaults. */
  webhooks?: Partial<WebhookConfig>;
  /** Push, email and Slack notifications (SIGIL_SMTP_URL, SIGIL_MAIL_FROM, SIGIL_VAPID_SUBJECT, SIGIL_NOTIFY_REMINDER_AT); unset fields take the defaults. */
  notifications?: Partial<NotificationConfig>;
  /** Audit integrator intervals (tests shorten them). */
  audit?: { intervalMs?: number; signIntervalMs?: number };
  /** Passkeys and attestation (SIGIL_PUBLIC_URL, SIGIL_RP_ID, SIGIL_ATTESTATION_*); unset: no public URL, nothing required. */
  webAuthn?: Partial<WebAuthnConfig>;
  /** How long the operational history is kept (SIGIL_HISTORY_RETENTION_DAYS); unset: 90 days, pruned hourly. */
  historyRetention?: Partial<HistoryRetention>;
  /** Requests of one organisation that may wait for one device at once; unset: 100. */
  maxPendingPerDevice?: number;
  /**
   * /metrics: a token, a separate listener (host and port), the storage gauges' refresh interval;
   * unset fields take the defaults (API port, no token, 15 s).
   */
  metrics?: { token?: string | null; host?: string | undefined; port?: number | undefined; refreshIntervalMs?: number };
  /** Unpack the build-time template into a new embedded store (default true). */
  pgliteTemplate?: boolean;
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
  /** Compiles every route's schemas now; otherwise each compiles on its route's first request. Throws for one that cannot compile. */
  compileSchemas(): void;
  close(): Promise<void>;
}

/**
 * Starts the service. `opening` is the store, already being opened by the caller (`sigil serve`
 * starts it before it loads the HTTP stack, so the two happen at once); without it, the store is
 * opened here. The app is built while the store opens, and the server listens once both are done.
 * Either way the store is closed if the start fails.
 */
export async function startServer(config: ServerConfig, opening?: Promise<Database>): Promise<RunningServer> {
  const trustProxy = config.trustProxy ?? false;
  const storeOpening =
    opening ??
    openStorage({
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
      poolSize: config.dbPoolSize ?? DEFAULTS.dbPoolSize,
      pgliteTemplate: config.pgliteTemplate ?? true,
    });
  // The HTTP app is built while the store opens: what it asks of the store waits for it.
  const store = whenOpen(config.databaseUrl ? 'postgres' : 'pglite', storeOpening);
  const clock = config.clock ?? Date.now;
  try {
    const webhookConfig: WebhookConfig = { ...DEFAULT_WEBHOOK_CONFIG, ...config.webhooks };
    const notificationConfig: NotificationConfig = {
      ...DEFAULT_NOTIFICATION_CONFIG,
      allowPrivate: webhookConfig.allowPrivate,
      lookup: webhookConfig.lookup,
      ...config.notifications,
    };
    const webAuthn = new WebAuthnSettings({ attestationRequired: false, ...config.webAuthn });
    const maxPendingPerDevice = config.maxPendingPerDevice ?? DEFAULT_MAX_PENDING_PER_DEVICE;
    if (webAuthn.metadataFile) await loadAttestationMetadata(webAuthn.metadataFile);
    const metricsConfig = resolveMetricsConfig(config.metrics);
    const https = config.tlsCert && config.tlsKey ? { cert: readFileSync(config.tlsCert), key: readFileSync(config.tlsKey) } : null;
    const metrics = createMetrics(store);
    const serverIdentity = lateServerIdentity();
    const [[identity, firstApiKey, vapid], { app, gateway, treeHeads, compileSchemas }] = await Promise.all([
      Promise.all([
        serverIdentity.load(store),
        (async () => {
          const orgName = config.orgName ?? (config.askOrgName && !(await defaultTenant(store)) ? await config.askOrgName() : undefined);
          return ensureFirstOrganisation(store, orgName);
        })(),
        loadVapidKeys(store),
      ]),
      buildApp({
        db: store,
        identity: serverIdentity.identity,
        metrics,
        metricsEndpoint: { onApiPort: metricsConfig.listen === null, token: metricsConfig.token },
        clock,
        logger: { level: config.logLevel ?? DEFAULTS.logLevel, format: config.logFormat ?? 'json' },
        https,
        webhooks: { allowPrivate: webhookConfig.allowPrivate, lookup: webhookConfig.lookup },
        webAuthn,
        maxPendingPerDevice,
        trustProxy,
        ...(config.pairingRateLimit ? { pairingRateLimit: config.pairingRateLimit } : {}),
        ...(config.requestTimeoutMs ? { requestTimeoutMs: config.requestTimeoutMs } : {}),
      }),
    ]);
    const db = await storeOpening;
    // What has started, stopped last-started first: by close(), or here when a later step fails.
    const started: Array<() => Promise<unknown>> = [];
    const stopStarted = async (): Promise<unknown> => {
      let failure: unknown = null;
      for (const stop of started.splice(0).reverse()) await stop().catch((err: unknown) => (failure ??= err));
      return failure;
    };
    try {
      const metricsListener = metricsConfig.listen
        ? await startMetricsListener(metrics, { ...metricsConfig, listen: metricsConfig.listen })
        : null;
      if (metricsListener) started.push(() => metricsListener.close());
      started.push(
        () => app.close(),
        () => gateway.stop(),
      );
      await app.listen({ host: config.host, port: config.port });
      started.push(startExpirySweeper(db, clock, app.log), startEmbeddedMaintenance(db, app.log));
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      const host = config.host.includes(':') ? `[${config.host}]` : config.host;
      webAuthn.listening(https ? 'https' : 'http', config.host, port);
      const url = `${https ? 'https' : 'http'}://${host}:${port}`;
      const workers = await Promise.allSettled([
        startWebhookWorker({
          db,
          log: app.log,
          config: webhookConfig,
          ...(config.clock ? { clock: config.clock } : {}),
        }),
        startNotificationWorker({
          db,
          log: app.log,
          config: notificationConfig,
          vapid,
          publicOrigin: () => webAuthn.relyingParty()?.origin ?? url,
          counter: notificationMetrics(metrics.registry),
          ...(config.clock ? { clock: config.clock } : {}),
        }),
      ]);
      for (const worker of workers) if (worker.status === 'fulfilled') started.push(() => worker.value.stop());
      for (const worker of workers) if (worker.status === 'rejected') throw worker.reason;
      // After the workers: on the embedded store its first refresh would queue ahead of their start.
      started.push(startStorageGaugeRefresh(metrics, metricsConfig.refreshIntervalMs, app.log));
      started.push(startAuditIntegrator({ db, signing: treeHeads, clock, log: app.log, ...config.audit }));
      started.push(
        startHistoryRetention(db, clock, app.log, { days: DEFAULT_HISTORY_RETENTION_DAYS, ...config.historyRetention }, (table, n) =>
          metrics.historyDeleted.inc({ table }, n),
        ),
      );
      let closing: Promise<void> | null = null;
      return {
        url,
        app,
        db,
        identity,
        firstApiKey,
        publicOrigin: webAuthn.relyingParty()?.origin ?? null,
        metricsUrl: metricsListener?.url ?? null,
        compileSchemas,
        close: () =>
          (closing ??= (async () => {
            const failure = await stopStarted();
            await db.close();
            if (failure) throw failure;
          })()),
      };
    } catch (err) {
      await stopStarted();
      throw err;
    }
  } catch (err) {
    await store.close().catch(() => {});
    throw err;
  }
}

function resolveMetricsConfig(given: ServerConfig['metrics'] = {}): MetricsEndpointConfig {
  const token = given.token ?? null;
  checkMetricsToken(token);
  if (given.host !== undefined && given.port === undefined)
    throw new Error('--metrics-host (SIGIL_METRICS_HOST) needs --metrics-port (SIGIL_METRICS_PORT)');
  return {
    token,
    listen: given.port !== undefined ? { host: given.host ?? DEFAULTS.metricsHost, port: given.port } : null,
    refreshIntervalMs: given.refreshIntervalMs ?? STORAGE_GAUGE_REFRESH_MS,
  };
}
