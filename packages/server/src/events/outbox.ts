import { randomUUID } from 'node:crypto';
import type { WebhookEvent, WebhookEventType } from '@sigilauth/protocol/wire';
import type { Queryable } from '../storage/database.js';
import { enqueueNotifications } from '../notifications/outbox.js';
import { enqueueDeliveries } from '../webhooks/deliveries.js';

/** The integrator-facing event types: the `type` of the webhook bodies @sigilauth/protocol declares. */
export type EventType = WebhookEventType;

/** The webhook body @sigilauth/protocol declares for `T`, without its `type`: what the change supplies. */
export type EventBody<T extends EventType> = Omit<
  WebhookEvent extends infer E ? (E extends { type: infer U } ? (T extends U ? E : never) : never) : never,
  'type'
>;

/**
 * Records an integrator-facing event in the same transaction as the change that caused it,
 * so an event exists if and only if the change committed; with it, one webhook delivery per
 * subscribed endpoint, which the delivery worker picks up once the transaction commits, and the
 * approvers' notifications of a request's start and end.
 */
export async function recordEvent<T extends EventType>(
  tx: Queryable,
  tenantId: string,
  type: T,
  payload: EventBody<T>,
  requestId: string | null = null,
): Promise<string> {
  const id = `evt_${randomUUID().replaceAll('-', '')}`;
  await tx.write('INSERT INTO events (id, tenant_id, type, request_id, payload) VALUES ($1, $2, $3, $4, $5)', [
    id,
    tenantId,
    type,
    requestId,
    JSON.stringify({ type, ...payload }),
  ]);
  await enqueueDeliveries(tx, { id, tenantId, type, requestId });
  await enqueueNotifications(tx, { id, tenantId, type, requestId });
  return id;
}
