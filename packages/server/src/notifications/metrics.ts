import { Counter, type Registry } from 'prom-client';

/** sigil_notifications_total{channel, outcome}: every attempt, by how it ended (sent, delivered, retry, failed). */
export function notificationMetrics(registry: Registry) {
  const existing = registry.getSingleMetric('sigil_notifications_total') as Counter<'channel' | 'outcome'> | undefined;
  return (
    existing ??
    new Counter({
      name: 'sigil_notifications_total',
      help: 'Notification attempts by channel (push, email, slack) and outcome (sent, delivered, retry, failed)',
      labelNames: ['channel', 'outcome'] as const,
      registers: [registry],
    })
  );
}
