/** Webhook deliveries: one row per (event, endpoint), created with the event, and their attempts. */
import { appendAudit } from '../audit/log.js';
import { ApiError, notFound } from '../http/errors.js';
import type { Database, Queryable } from '../storage/database.js';
import type { Actor } from './endpoints.js';

/** NOTIFY channel: a delivery became due; every instance's worker wakes up. */
export const DELIVERY_CHANNEL = 'sigil_webhook_deliveries';

/** Event types an endpoint receives only when it lists them (an endpoint with `events: null` does not). */
export const OPT_IN_EVENT_TYPES: readonly string[] = ['audit.head', 'mpa.flagged'];

/**
 * Inside the transaction that records an event: one pending delivery per enabled endpoint of the
 * tenant that subscribes to the event's type, and a wake-up for the workers (sent on commit). The
 * endpoints are locked as the foreign key would lock them, so that one being deleted meanwhile is
 * waited for and then left out, instead of failing the transaction.
 */
export async function enqueueDeliveries(
  tx: Queryable,
  event: { id: string; tenantId: string; type: string; requestId: string | null },
): Promise<void> {
  const optIn = OPT_IN_EVENT_TYPES.includes(event.type);
  await tx.write(
    `INSERT INTO webhook_deliveries (id, endpoint_id, tenant_id, event_id, event_type, request_id, next_attempt_at, created_at)
     SELECT gen_random_uuid(), e.id, e.tenant_id, $2, $3, $4, now(), now()
       FROM webhook_endpoints e
      WHERE ${subscribes('$1', '$3', '$5')}
      ORDER BY e.id FOR KEY SHARE`,
    [event.tenantId, event.id, event.type, event.requestId, optIn],
  );
  await tx.notifyOnCommit(
    `SELECT pg_notify('${DELIVERY_CHANNEL}', '')
      WHERE EXISTS (SELECT 1 FROM unnest($1::uuid[], $2::text[], $3::boolean[]) AS ev (tenant_id, type, opt_in), webhook_endpoints e
                     WHERE ${subscribes('ev.tenant_id', 'ev.type', 'ev.opt_in')})`,
    [[event.tenantId], [event.type], [optIn]],
  );
}

/**
 * Whether the endpoint `e` receives events of a type: enabled, of the tenant, and subscribed to
 * the type (an endpoint with no list receives every type but the opt-in ones). The arguments are
 * SQL for the tenant's id, the type, and whether the type is opt-in.
 */
export const subscribes = (tenant: string, type: string, optIn: string): string =>
  `e.tenant_id = ${tenant} AND e.enabled AND ((e.events IS NULL AND NOT ${optIn}) OR ${type} = ANY (e.events))`;

/** Whether any enabled endpoint of the tenant would receive an event of this type. */
export async function hasSubscribers(tx: Queryable, tenantId: string, type: string): Promise<boolean> {
  const rows = await tx.query(`SELECT 1 FROM webhook_endpoints e WHERE ${subscribes('$1', '$2', '$3')} LIMIT 1`, [
    tenantId,
    type,
    OPT_IN_EVENT_TYPES.includes(type),
  ]);
  return rows.length > 0;
}

export type DeliveryStatus = 'pending' | 'succeeded' | 'failed';

interface DeliveryRow {
  id: string;
  seq: number | string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  request_id: string | null;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: Date;
  locked_until: Date | null;
  last_attempt_at: Date | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: Date;
  completed_at: Date | null;
}

interface AttemptRow {
  delivery_id: string;
  attempt: number;
  started_at: Date;
  status_code: number | null;
  latency_ms: number;
  error: string | null;
}

export interface AttemptView {
  attempt: number;
  started_at: string;
  status_code: number | null;
  latency_ms: number;
  error: string | null;
}

export interface DeliveryView {
  id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  request_id: string | null;
  status: DeliveryStatus;
  in_flight: boolean;
  attempt_count: number;
  next_attempt_at: string | null;
  created_at: string;
  completed_at: string | null;
  attempts: AttemptView[];
}

const COLUMNS = `d.id, d.seq, d.endpoint_id, d.event_id, d.event_type, d.request_id, d.status, d.attempts, d.next_attempt_at, d.locked_until,
  d.last_attempt_at, d.last_status_code, d.last_error, d.created_at, d.completed_at`;

function toView(row: DeliveryRow, attempts: AttemptRow[], now: number): DeliveryView {
  return {
    id: row.id,
    endpoint_id: row.endpoint_id,
    event_id: row.event_id,
    event_type: row.event_type,
    request_id: row.request_id,
    status: row.status,
    in_flight: row.status === 'pending' && row.locked_until !== null && row.locked_until.getTime() > now,
    attempt_count: row.attempts,
    next_attempt_at: row.status === 'pending' ? row.next_attempt_at.toISOString() : null,
    created_at: row.created_at.toISOString(),
    completed_at: row.completed_at ? row.completed_at.toISOString() : null,
    attempts: attempts.map((a) => ({
      attempt: a.attempt,
      started_at: a.started_at.toISOString(),
      status_code: a.status_code,
      latency_ms: a.latency_ms,
      error: a.error,
    })),
  };
}

export interface ListDeliveriesOptions {
  status?: DeliveryStatus | undefined;
  eventId?: string | undefined;
  limit: number;
  /** Keyset cursor: the seq of the last delivery of the previous page. */
  before?: number | undefined;
  now: number;
}

/** An endpoint's deliveries, newest first, each with all its attempts. */
export async function listDeliveries(db: Queryable, tenantId: string, endpointId: string, o: ListDeliveriesOptions) {
  const [endpoint] = await db.query('SELECT 1 FROM webhook_endpoints WHERE id = $1 AND tenant_id = $2', [endpointId, tenantId]);
  if (!endpoint) throw notFound('webhook endpoint');
  const rows = await db.query<DeliveryRow>(
    `SELECT ${COLUMNS} FROM webhook_deliveries d
      WHERE d.endpoint_id = $1 AND ($2::text IS NULL OR d.status = $2) AND ($3::text IS NULL OR d.event_id = $3) AND ($4::bigint IS NULL OR d.seq < $4)
      ORDER BY d.seq DESC LIMIT $5`,
    [endpointId, o.status ?? null, o.eventId ?? null, o.before ?? null, o.limit + 1],
  );
  const page = rows.slice(0, o.limit);
  const attempts = page.length
    ? await db.query<AttemptRow>(
        'SELECT delivery_id, attempt, started_at, status_code, latency_ms, error FROM webhook_attempts WHERE delivery_id = ANY($1::uuid[]) ORDER BY attempt',
        [page.map((r) => r.id)],
      )
    : [];
  const last = page[page.length - 1];
  return {
    data: page.map((r) =>
      toView(
        r,
        attempts.filter((a) => a.delivery_id === r.id),
        o.now,
      ),
    ),
    next_cursor: rows.length > o.limit && last ? String(last.seq) : null,
  };
}

export async function getDelivery(db: Queryable, tenantId: string, id: string, now: number): Promise<DeliveryView> {
  const [row] = await db.query<DeliveryRow>(`SELECT ${COLUMNS} FROM webhook_deliveries d WHERE d.id = $1 AND d.tenant_id = $2`, [
    id,
    tenantId,
  ]);
  if (!row) throw notFound('webhook delivery');
  const attempts = await db.query<AttemptRow>(
    'SELECT delivery_id, attempt, started_at, status_code, latency_ms, error FROM webhook_attempts WHERE delivery_id = $1 ORDER BY attempt',
    [id],
  );
  return toView(row, attempts, now);
}

/**
 * Redelivers now: a failed or succeeded delivery gets one more attempt (a manual retry), a pending
 * one is brought forward. A delivery in flight, or of a disabled endpoint, is refused.
 */
export async function retryDelivery(db: Database, tenantId: string, id: string, actor: Actor, now: number): Promise<DeliveryView> {
  await db.transaction(async (tx) => {
    const [row] = await tx.query<DeliveryRow & { enabled: boolean }>(
      `SELECT ${COLUMNS}, e.enabled FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
        WHERE d.id = $1 AND d.tenant_id = $2 FOR UPDATE OF d`,
      [id, tenantId],
    );
    if (!row) throw notFound('webhook delivery');
    if (!row.enabled) throw new ApiError('webhook_disabled', 'the endpoint is disabled; enable it first (PATCH enabled: true)');
    if (row.status === 'pending' && row.locked_until && row.locked_until.getTime() > now) {
      throw new ApiError('delivery_in_progress', 'an attempt of this delivery is in progress');
    }
    await uncountDeliveries(tx, { id });
    await tx.query(
      `UPDATE webhook_deliveries SET status = 'pending', manual = (status <> 'pending'), next_attempt_at = $2, locked_until = NULL, completed_at = NULL
        WHERE id = $1`,
      [id, new Date(now)],
    );
    await appendAudit(
      tx,
      tenantId,
      'webhook.delivery_retried',
      { webhook_id: row.endpoint_id, delivery_id: id, event_id: row.event_id, ...actor },
      row.request_id,
    );
    await tx.notifyOnCommit(`SELECT pg_notify('${DELIVERY_CHANNEL}', '')`, []);
  });
  return getDelivery(db, tenantId, id, now);
}

/**
 * Takes counted deliveries out of the /metrics totals (status-totals.ts), by status, before they
 * stop being finished (a manual retry makes one pending again) or stop existing (their endpoint is
 * deleted). Runs in the transaction that does that, with the deliveries locked.
 */
export async function uncountDeliveries(tx: Queryable, where: { id: string } | { endpointId: string }): Promise<void> {
  const [column, value] = 'id' in where ? ['id', where.id] : ['endpoint_id', where.endpointId];
  await tx.query(
    `WITH gone AS (
       UPDATE webhook_deliveries SET counted = false WHERE ${column} = $1 AND counted AND status <> 'pending' RETURNING status
     ), by_status AS (SELECT status, count(*) AS n FROM gone GROUP BY status)
     UPDATE status_totals t SET n = t.n - by_status.n FROM by_status WHERE t.kind = 'webhook_deliveries' AND t.status = by_status.status`,
    [value],
  );
}
