import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import websocket from '@fastify/websocket';
import { auditRoutes } from './audit/routes.js';
import type { TreeHeadSigning } from './audit/store.js';
import { AuditWitness } from './audit/witness.js';
import { DEFAULT_MAX_PENDING_PER_DEVICE } from './config.js';
import { deviceRoutes } from './devices/routes.js';
import { DEVICE_MESSAGE_MAX_BYTES, DeviceGateway } from './gateway/device-gateway.js';
import { requireApiKey } from './http/auth.js';
import { installErrorHandling } from './http/error-answers.js';
import { errorBody } from './http/errors.js';
import { lazySchemaCompilers } from './http/lazy-schemas.js';
import { fastifyTrustProxy, type TrustProxy } from './http/trust-proxy.js';
import { clientErrorHandler, installInputGuard, useSupportedTimestamps } from './http/input-guard.js';
import { declarePatternRules, formatValidationErrors } from './http/validation-messages.js';
import { prettyStream, type LogFormat } from './http/log-output.js';
import { safeLoggerOptions } from './http/log-safety.js';
import type { ServerIdentity } from './identity/server-identity.js';
import type { Metrics } from './metrics.js';
import { metricsRoute } from './metrics-endpoint.js';
import { mpaRoutes } from './mpa/routes.js';
import { governanceRoutes } from './governance/routes.js';
import { notificationRoutes } from './notifications/routes.js';
import { clientNetworks } from './pairing/client-network.js';
import { pairingRoutes } from './pairing/routes.js';
import type { Database } from './storage/database.js';
import { overrideRoutes } from './overrides/routes.js';
import { systemRoutes } from './system-routes.js';
import { teamRoutes } from './teams/routes.js';
import { VERSION } from './version.js';
import { webRoutes } from './web/routes.js';
import { WebAuthnSettings } from './webauthn/settings.js';
import { webhookRoutes } from './webhooks/routes.js';
import type { UrlPolicy } from './webhooks/endpoints.js';

export interface AppContext {
  db: Database;
  identity: ServerIdentity;
  metrics: Metrics;
  clock: () => number;
  requireApiKey: (request: FastifyRequest) => Promise<void>;
  /** Route config of the endpoints that take pairing codes or open sessions: a per-process flood guard per client. */
  pairingRateLimit: { rateLimit: { max: number; timeWindow: string; keyGenerator: (request: FastifyRequest) => string } };
  /** Which webhook URLs may be registered (SSRF policy). */
  webhooks: UrlPolicy;
  /** Passkeys: relying party, attestation policy. */
  webAuthn: WebAuthnSettings;
  /** Requests of one organisation that may wait for one device at once. */
  maxPendingPerDevice: number;
  /** Signs audit tree heads, refusing (with an alarm) a log that no longer extends what this process saw. */
  treeHeads: TreeHeadSigning;
}

/** How long a client may take to send a whole request, headers and body (Node answers 408 after it). */
export const REQUEST_TIMEOUT_MS = 30_000;

export interface AppOptions {
  db: Database;
  identity: ServerIdentity;
  metrics: Metrics;
  clock?: () => number;
  logger?: boolean | { level: string; format?: LogFormat };
  /** Pairing completions allowed per client (IPv4 address, IPv6 /64) per minute. */
  pairingRateLimit?: number;
  /** How long a client may take to send a whole request; default REQUEST_TIMEOUT_MS. */
  requestTimeoutMs?: number;
  /** Which proxies' X-Forwarded-For to believe (SIGIL_TRUST_PROXY); off by default. */
  trustProxy?: TrustProxy;
  https?: { cert: Buffer; key: Buffer } | null;
  webhooks?: UrlPolicy;
  webAuthn?: WebAuthnSettings;
  maxPendingPerDevice?: number;
  /** Whether the API port serves /metrics (not when a separate metrics listener does), and the token it needs. */
  metricsEndpoint?: { onApiPort: boolean; token: string | null };
}

export interface BuiltApp {
  app: FastifyInstance;
  gateway: DeviceGateway;
  treeHeads: TreeHeadSigning;
  /** Compiles every route's schemas now; they compile on each route's first request otherwise. */
  compileSchemas: () => void;
}

export async function buildApp(options: AppOptions): Promise<BuiltApp> {
  const ctx: AppContext = {
    db: options.db,
    identity: options.identity,
    metrics: options.metrics,
    clock: options.clock ?? Date.now,
    requireApiKey: requireApiKey(options.db),
    pairingRateLimit: {
      rateLimit: {
        max: options.pairingRateLimit ?? 10,
        timeWindow: '1 minute',
        keyGenerator: (request) => clientNetworks(request.ip).client,
      },
    },
    webhooks: options.webhooks ?? { allowPrivate: false },
    webAuthn: options.webAuthn ?? new WebAuthnSettings({ attestationRequired: false }),
    maxPendingPerDevice: options.maxPendingPerDevice ?? DEFAULT_MAX_PENDING_PER_DEVICE,
    treeHeads: {
      sign: (head) => options.identity.signTreeHead(head),
      get serverId() {
        return options.identity.serverId;
      },
    },
  };
  const schemas = lazySchemaCompilers();
  const requestTimeout = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  // Node applies a request timeout to bodies only when its server is created with it (Fastify sets
  // it afterwards), and judges it when it checks its connections, every 30 s unless told otherwise.
  const requestLimits = { requestTimeout, connectionsCheckingInterval: Math.max(100, Math.min(30_000, requestTimeout / 4)) };
  const app = Fastify({
    logger:
      options.logger === false
        ? false
        : {
            ...safeLoggerOptions(typeof options.logger === 'object' ? options.logger.level : 'info'),
            stream: prettyStream(typeof options.logger === 'object' ? (options.logger.format ?? 'json') : 'json'),
          },
    ...(options.https ? { https: { ...options.https, ...requestLimits } } : {}),
    bodyLimit: 16 * 1024,
    // A body trickled in byte by byte would otherwise hold its connection, and routes that need no key, for ever.
    requestTimeout,
    http: requestLimits,
    trustProxy: fastifyTrustProxy(options.trustProxy ?? false),
    ajv: {
      // verbose: errors carry the schema they failed, which formatValidationErrors words them from.
      customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false, verbose: true },
      onCreate: (ajv) => {
        useSupportedTimestamps(ajv);
        declarePatternRules(ajv);
      },
    },
    clientErrorHandler,
    frameworkErrors: (err, _request, reply) => {
      const message = err.code === 'FST_ERR_BAD_URL' ? 'the URL path has a percent-escape that is not valid UTF-8' : err.message;
      void (reply as FastifyReply).code(400).send(errorBody('invalid_request', message));
    },
    schemaErrorFormatter: formatValidationErrors,
    schemaController: { compilersFactory: schemas.compilersFactory },
    // installErrorHandling answers requests that arrive while the server stops with the catalogue's 503.
    return503OnClosing: false,
    forceCloseConnections: true,
  });
  installErrorHandling(app);
  installInputGuard(app);
  ctx.treeHeads.witness = new AuditWitness((tenantId, problem) => {
    ctx.metrics.auditAlarms.inc();
    app.log.error({ tenant: tenantId, problem }, 'AUDIT LOG TAMPERED: refusing to sign tree heads for this organisation');
  });
  app.removeContentTypeParser('text/plain');

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    ctx.metrics.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) });
    ctx.metrics.httpSeconds.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });

  await app.register(swagger, {
    openapi: {
      info: { title: 'Sigil API', version: VERSION, description: 'Multi-party approval: M of N groups must approve.' },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'sgk_live_... or sgk_test_...' } } },
    },
  });
  await app.register(rateLimit, { global: false });
  await app.register(websocket, { options: { maxPayload: DEVICE_MESSAGE_MAX_BYTES } });

  const gateway = new DeviceGateway({
    db: ctx.db,
    identity: ctx.identity,
    clock: ctx.clock,
    onConnectionCountChange: (n) => ctx.metrics.connectedDevices.set(n),
  });
  await app.register(async (scoped) => {
    systemRoutes(scoped, ctx);
    const metricsEndpoint = options.metricsEndpoint ?? { onApiPort: true, token: null };
    if (metricsEndpoint.onApiPort) metricsRoute(scoped, ctx.metrics, metricsEndpoint.token);
    pairingRoutes(scoped, ctx);
    deviceRoutes(scoped, ctx);
    mpaRoutes(scoped, ctx);
    teamRoutes(scoped, ctx);
    overrideRoutes(scoped, ctx);
    webhookRoutes(scoped, ctx);
    notificationRoutes(scoped, ctx);
    governanceRoutes(scoped, ctx);
    auditRoutes(scoped, ctx);
    await webRoutes(scoped, ctx);
    gateway.start(scoped);
  });
  return { app, gateway, treeHeads: ctx.treeHeads, compileSchemas: schemas.compileAll };
}
