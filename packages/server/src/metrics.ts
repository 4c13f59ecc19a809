import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Database } from './storage/database.js';

export type Metrics = ReturnType<typeof createMetrics>;

export function createMetrics(db: Database) {
  const registry = new Registry();
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
    connectedDevices: new Gauge({ name: 'sigil_connected_devices', help: 'Device WebSockets authenticated on this instance', registers: [registry] }),
    webhookDeliveries: new Gauge({
      name: 'sigil_webhook_deliveries',
      help: 'Webhook deliveries in storage by status (all instances)',
      labelNames: ['status'] as const,
      registers: [registry],
      async collect() {
        const rows = await db.query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM webhook_deliveries GROUP BY status');
        this.reset();
        for (const { status, n } of rows) this.set({ status }, n);
      },
    }),
    webhookLag: new Gauge({
      name: 'sigil_webhook_lag_seconds',
      help: 'How long the oldest due, undelivered webhook has been waiting (0 when none)',
      registers: [registry],
      async collect() {
        const [row] = await db.query<{ lag: number | null }>(
          `SELECT extract(epoch FROM now() - min(next_attempt_at))::float8 AS lag FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= now()`,
        );
        this.set(Math.max(0, row?.lag ?? 0));
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
    requestsByStatus: new Gauge({
      name: 'sigil_mpa_requests',
      help: 'MPA requests in storage by status (all instances)',
      labelNames: ['status'] as const,
      registers: [registry],
      async collect() {
        const rows = await db.query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM mpa_requests GROUP BY status');
        this.reset();
        for (const { status, n } of rows) this.set({ status }, n);
      },
    }),
  };
}
