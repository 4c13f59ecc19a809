import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Queryable } from './storage/database.js';

export type Metrics = ReturnType<typeof createMetrics>;

export function createMetrics(db: Queryable) {
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
