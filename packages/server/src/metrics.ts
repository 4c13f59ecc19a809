import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { FastifyBaseLogger } from 'fastify';
import { startPeriodic } from './background/periodic.js';
import type { Database } from './storage/database.js';
import { readStatusCounts } from './status-totals.js';

export type Metrics = ReturnType<typeof createMetrics>;

const REQUEST_STATUSES = ['pending', 'approved', 'rejected', 'timeout', 'cancelled'] as const;
const DELIVERY_STATUSES = ['pending', 'succeeded', 'failed'] as const;

/** How often the storage-wide gauges are read from the database by default. */
export const STORAGE_GAUGE_REFRESH_MS = 15_000;

export function createMetrics(db: Database) {
  const registry = new Registry();
  const storage = {
    requests: new Map<string, number>(),
    deliveries: new Map<string, number>(),
    webhookLagSeconds: 0,
    refreshedAt: 0,
  };
  collectDefaultMetrics({ register: registry, prefix: 'sigil_' });
  return {
    registry,
    httpRequests: new Counter({
      name: 'sigil_http_requests_total',
      help: 'HTTP requests by route and status code',
      labelNames: ['method', 'route', 'status'] as const,
      registers: [registry],
    }),
    httpSeconds: new Histogram({
      name: 'sigil_http_request_duration_seconds',
      help: 'HTTP request latency',
      labelNames: ['method', 'route'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    decisionSeconds: new Histogram({
      name: 'sigil_decision_duration_seconds',
      help: 'Time to verify and record a device decision',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    auditAlarms: new Counter({
      name: 'sigil_audit_alarms_total',
      help: 'Times this instance found an audit log that no longer extends what it saw (cut short or rewritten); alert on any',
      registers: [registry],
    }),
    connectedDevices: new Gauge({
      name: 'sigil_connected_devices',
      help: 'Device WebSockets authenticated on this instance',
      registers: [registry],
    }),
    webhookDeliveries: new Gauge({
      name: 'sigil_webhook_deliveries',
      help: `Webhook deliveries in storage by status (all instances; refreshed in the background)`,
      labelNames: ['status'] as const,
      registers: [registry],
      collect() {
        for (const status of DELIVERY_STATUSES) this.set({ status }, storage.deliveries.get(status) ?? 0);
      },
    }),
    webhookLag: new Gauge({
      name: 'sigil_webhook_lag_seconds',
      help: 'How long the oldest due, undelivered webhook had been waiting at the last refresh (0 when none)',
      registers: [registry],
      collect() {
        this.set(storage.webhookLagSeconds);
      },
    }),
    poolConnections: new Gauge({
      name: 'sigil_db_pool_connections',
      help: 'PostgreSQL pool connections of this instance by state (the embedded store has one, always busy)',
      labelNames: ['state'] as const,
      registers: [registry],
      collect() {
        const stats = db.poolStats();
        this.set({ state: 'total' }, stats.total);
        this.set({ state: 'idle' }, stats.idle);
        this.set({ state: 'waiting' }, stats.waiting);
      },
    }),
    historyDeleted: new Counter({
      name: 'sigil_history_deleted_total',
      help: 'Rows of finished history this instance deleted after SIGIL_HISTORY_RETENTION_DAYS, by table',
      labelNames: ['table'] as const,
      registers: [registry],
    }),
    conflictRetries: new Counter({
      name: 'sigil_db_conflict_retries_total',
      help: 'Transactions this instance ran again after PostgreSQL aborted them so that another could go on, by cause',
      labelNames: ['cause'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const [cause, n] of Object.entries(db.conflictRetries())) this.inc({ cause }, n);
      },
    }),
    requestsByStatus: new Gauge({
      name: 'sigil_mpa_requests',
      help: 'MPA requests in storage by status (all instances; refreshed in the background)',
      labelNames: ['status'] as const,
      registers: [registry],
      collect() {
        for (const status of REQUEST_STATUSES) this.set({ status }, storage.requests.get(status) ?? 0);
      },
    }),
    storageRefreshed: new Gauge({
      name: 'sigil_storage_gauges_refreshed_timestamp_seconds',
      help: 'When the storage-wide gauges were last read from the database (Unix seconds; 0: not yet)',
      registers: [registry],
      collect() {
        this.set(storage.refreshedAt / 1000);
      },
    }),
    /**
     * Reads the storage-wide gauges from the database. A scrape never queries the database: it
     * reports what the last refresh read (see startStorageGaugeRefresh).
     */
    async refreshStorageGauges(): Promise<void> {
      const [counts, lag] = await Promise.all([
        readStatusCounts(db),
        db.query<{ lag: number | null }>(
          `SELECT extract(epoch FROM now() - min(next_attempt_at))::float8 AS lag FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= now()`,
        ),
      ]);
      storage.requests = counts.requests;
      storage.deliveries = counts.deliveries;
      storage.webhookLagSeconds = Math.max(0, lag[0]?.lag ?? 0);
      storage.refreshedAt = Date.now();
    },
  };
}

/** Refreshes the storage-wide gauges now and then every intervalMs, one refresh at a time. */
export function startStorageGaugeRefresh(metrics: Metrics, intervalMs: number, log: FastifyBaseLogger): () => Promise<void> {
  const refresh = () => metrics.refreshStorageGauges();
  const first = refresh().catch((err: Error) => log.warn({ err: err.message }, 'metrics refresh failed; retrying'));
  const stop = startPeriodic('metrics refresh', intervalMs, log, refresh);
  return async () => {
    await first;
    await stop();
  };
}
