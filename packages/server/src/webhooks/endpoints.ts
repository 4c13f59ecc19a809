/** Webhook endpoints: a tenant's receivers, their signing secrets and their state. */
import { randomUUID } from 'node:crypto';
import { generateWebhookSecret } from '@sigilauth/protocol';
import { appendAudit } from '../audit/log.js';
import type { EventType } from '../events/outbox.js';
import { shownUrl } from '../http/capability-urls.js';
import { ApiError, notFound } from '../http/errors.js';
import type { Database, Queryable } from '../storage/database.js';
import { liveTenantId } from '../tenants/tenants.js';
import { uncountDeliveries } from './deliveries.js';
import { resolveWebhookTarget, WebhookTargetError, type WebhookLookup } from './ssrf.js';

export const WEBHOOK_EVENT_TYPES: readonly EventType[] = [
  'mpa.created',
  'mpa.approved',
  'mpa.rejected',
  'mpa.timeout',
  'mpa.cancelled',
  'mpa.flagged',
  'device.paired',
  'device.revoked',
  'audit.head',
  'team.created',
  'team.updated',
  'team.deleted',
  'override.created',
  'override.reviewed',
];

/** After a rotation the previous secret keeps signing for this long. */
export const SECRET_OVERLAP_MS = 24 * 3_600_000;
export const MAX_ENDPOINTS_PER_TENANT = 50;
export const MAX_URL_LENGTH = 2048;

interface EndpointRow {
  id: string;
  tenant_id: string;
  url: string;
  description: string | null;
  events: string[] | null;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
  enabled: boolean;
  disabled_reason: string | null;
  disabled_at: Date | null;
  consecutive_failures: number;
  failing_since: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface EndpointView {
  id: string;
  url: string;
  description: string | null;
  /** null: every event type. */
  events: string[] | null;
  enabled: boolean;
  disabled_reason: string | null;
  disabled_at: string | null;
  consecutive_failures: number;
  failing_since: string | null;
  /** While set and in the future, deliveries are signed with the previous secret too. */
  previous_secret_expires_at: string | null;
  created_at: string;
  updated_at: string;
}

const COLUMNS = `id, tenant_id, url, description, events, secret, previous_secret, previous_secret_expires_at, enabled, disabled_reason,
  disabled_at, consecutive_failures, failing_since, created_at, updated_at`;

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function toEndpointView(row: EndpointRow, now: number = Date.now()): EndpointView {
  const overlap = row.previous_secret_expires_at && row.previous_secret_expires_at.getTime() > now ? row.previous_secret_expires_at : null;
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    events: row.events,
    enabled: row.enabled,
    disabled_reason: row.disabled_reason,
    disabled_at: iso(row.disabled_at),
    consecutive_failures: row.consecutive_failures,
    failing_since: iso(row.failing_since),
    previous_secret_expires_at: iso(overlap),
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

/** The secrets a delivery is signed with right now: the current one, and the previous one during the overlap. */
export function signingSecrets(row: Pick<EndpointRow, 'secret' | 'previous_secret' | 'previous_secret_expires_at'>, now: number): string[] {
  const secrets = [row.secret];
  if (row.previous_secret && row.previous_secret_expires_at && row.previous_secret_expires_at.getTime() > now)
    secrets.push(row.previous_secret);
  return secrets;
}

export interface UrlPolicy {
  allowPrivate: boolean;
  lookup?: WebhookLookup | undefined;
}

/**
 * Refuses a URL the SSRF guard would refuse to deliver to, resolving its host once for the
 * tenant's organisation (a test-mode twin's lookups share its organisation's place).
 */
export async function checkWebhookUrl(db: Queryable, url: string, policy: UrlPolicy, tenantId: string): Promise<string> {
  if (url.length > MAX_URL_LENGTH) throw new ApiError('invalid_url', `webhook URL must be at most ${MAX_URL_LENGTH} characters`);
  try {
    const target = await resolveWebhookTarget(url, {
      allowPrivate: policy.allowPrivate,
      organisationId: (await liveTenantId(db, tenantId)) ?? tenantId,
      ...(policy.lookup ? { lookup: policy.lookup } : {}),
    });
    target.url.hash = '';
    return target.url.toString();
  } catch (err) {
    if (err instanceof WebhookTargetError) {
      const hint =
        err.code === 'forbidden_address' && !policy.allowPrivate
          ? ' (a self-hosted server can allow private addresses with SIGIL_WEBHOOK_ALLOW_PRIVATE=true)'
          : '';
      throw new ApiError(err.code, `${err.message}${hint}`);
    }
    throw err;
  }
}

function normaliseEvents(events: readonly string[] | null | undefined): string[] | null {
  if (events === undefined || events === null) return null;
  const unknown = events.filter((e) => !WEBHOOK_EVENT_TYPES.includes(e as EventType));
  if (unknown.length > 0)
    throw new ApiError('invalid_request', `unknown event type ${unknown[0]}; known: ${WEBHOOK_EVENT_TYPES.join(', ')}`);
  if (events.length === 0) throw new ApiError('invalid_request', 'events must name at least one event type, or be omitted for all');
  return [...new Set(events)];
}

export interface CreateEndpointInput {
  url: string;
  events?: string[] | null | undefined;
  description?: string | null | undefined;
}

/** Who made a change, for the audit log: an API key id, or "cli". */
export type Actor = { api_key_id: string } | { via: 'cli' };

export async function createEndpoint(
  db: Database,
  tenantId: string,
  input: CreateEndpointInput,
  policy: UrlPolicy,
  actor: Actor,
  now: number,
): Promise<{ endpoint: EndpointView; secret: string }> {
  const url = await checkWebhookUrl(db, input.url, policy, tenantId);
  const events = normaliseEvents(input.events);
  const secret = generateWebhookSecret();
  return db.transaction(async (tx) => {
    const [{ n } = { n: 0 }] = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM webhook_endpoints WHERE tenant_id = $1', [
      tenantId,
    ]);
    if (n >= MAX_ENDPOINTS_PER_TENANT) {
      throw new ApiError('too_many_webhooks', `an organisation can have at most ${MAX_ENDPOINTS_PER_TENANT} webhook endpoints`);
    }
    const [row] = await tx.query<EndpointRow>(
      `INSERT INTO webhook_endpoints (id, tenant_id, url, description, events, secret, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING ${COLUMNS}`,
      [randomUUID(), tenantId, url, input.description ?? null, events, secret, new Date(now)],
    );
    await appendAudit(tx, tenantId, 'webhook.created', {
      webhook_id: row!.id,
      url: shownUrl(url),
      events,
      description: input.description ?? null,
      ...actor,
    });
    return { endpoint: toEndpointView(row!, now), secret };
  });
}

export async function listEndpoints(db: Queryable, tenantId: string | null, now: number): Promise<EndpointView[]> {
  const rows = await db.query<EndpointRow>(
    `SELECT ${COLUMNS} FROM webhook_endpoints WHERE $1::uuid IS NULL OR tenant_id = $1 ORDER BY created_at, id`,
    [tenantId],
  );
  return rows.map((r) => toEndpointView(r, now));
}

export async function getEndpoint(db: Queryable, tenantId: string, id: string, now: number): Promise<EndpointView> {
  const [row] = await db.query<EndpointRow>(`SELECT ${COLUMNS} FROM webhook_endpoints WHERE id = $1 AND tenant_id = $2`, [id, tenantId]);
  if (!row) throw notFound('webhook endpoint');
  return toEndpointView(row, now);
}

async function lockEndpoint(tx: Queryable, tenantId: string, id: string): Promise<EndpointRow> {
  const [row] = await tx.query<EndpointRow>(`SELECT ${COLUMNS} FROM webhook_endpoints WHERE id = $1 AND tenant_id = $2 FOR UPDATE`, [
    id,
    tenantId,
  ]);
  if (!row) throw notFound('webhook endpoint');
  return row;
}

export interface UpdateEndpointInput {
  url?: string | undefined;
  events?: string[] | null | undefined;
  description?: string | null | undefined;
  enabled?: boolean | undefined;
}

export async function updateEndpoint(
  db: Database,
  tenantId: string,
  id: string,
  patch: UpdateEndpointInput,
  policy: UrlPolicy,
  actor: Actor,
  now: number,
): Promise<EndpointView> {
  const url = patch.url === undefined ? undefined : await checkWebhookUrl(db, patch.url, policy, tenantId);
  const events = patch.events === undefined ? undefined : normaliseEvents(patch.events);
  return db.transaction(async (tx) => {
    const row = await lockEndpoint(tx, tenantId, id);
    const changes: Record<string, unknown> = {};
    if (url !== undefined && url !== row.url) changes.url = { from: shownUrl(row.url), to: shownUrl(url) };
    if (events !== undefined && JSON.stringify(events) !== JSON.stringify(row.events)) changes.events = { from: row.events, to: events };
    if (patch.description !== undefined && patch.description !== row.description)
      changes.description = { from: row.description, to: patch.description };
    if (patch.enabled !== undefined && patch.enabled !== row.enabled) changes.enabled = { from: row.enabled, to: patch.enabled };
    if (Object.keys(changes).length === 0) return toEndpointView(row, now);
    const enabling = patch.enabled === true && !row.enabled;
    const disabling = patch.enabled === false && row.enabled;
    const [updated] = await tx.query<EndpointRow>(
      `UPDATE webhook_endpoints SET
         url = $3, events = $4, description = $5, enabled = $6, updated_at = $7,
         disabled_reason = CASE WHEN $8 THEN NULL WHEN $9 THEN 'disabled through the API' ELSE disabled_reason END,
         disabled_at = CASE WHEN $8 THEN NULL WHEN $9 THEN $7 ELSE disabled_at END,
         consecutive_failures = CASE WHEN $8 THEN 0 ELSE consecutive_failures END,
         failing_since = CASE WHEN $8 THEN NULL ELSE failing_since END
       WHERE id = $1 AND tenant_id = $2 RETURNING ${COLUMNS}`,
      [
        id,
        tenantId,
        url ?? row.url,
        events === undefined ? row.events : events,
        patch.description === undefined ? row.description : patch.description,
        patch.enabled ?? row.enabled,
        new Date(now),
        enabling,
        disabling,
      ],
    );
    await appendAudit(tx, tenantId, 'webhook.updated', { webhook_id: id, changes, ...actor });
    return toEndpointView(updated!, now);
  });
}

export async function rotateSecret(
  db: Database,
  tenantId: string,
  id: string,
  actor: Actor,
  now: number,
): Promise<{ secret: string; previous_secret_expires_at: string }> {
  const secret = generateWebhookSecret();
  const expires = new Date(now + SECRET_OVERLAP_MS);
  return db.transaction(async (tx) => {
    await lockEndpoint(tx, tenantId, id);
    await tx.query(
      `UPDATE webhook_endpoints SET previous_secret = secret, previous_secret_expires_at = $3, secret = $4, updated_at = $5
        WHERE id = $1 AND tenant_id = $2`,
      [id, tenantId, expires, secret, new Date(now)],
    );
    await appendAudit(tx, tenantId, 'webhook.secret_rotated', {
      webhook_id: id,
      previous_secret_expires_at: expires.toISOString(),
      ...actor,
    });
    return { secret, previous_secret_expires_at: expires.toISOString() };
  });
}

export async function deleteEndpoint(db: Database, tenantId: string, id: string, actor: Actor): Promise<void> {
  await db.transaction(async (tx) => {
    // The delivery worker records an attempt by locking the delivery, then the endpoint; the
    // cascade below locks them the other way round. Taking the deliveries first keeps one order,
    // so a delete during an attempt waits for it instead of deadlocking with it.
    await tx.query('SELECT 1 FROM webhook_deliveries WHERE endpoint_id = $1 AND tenant_id = $2 ORDER BY id FOR UPDATE', [id, tenantId]);
    const row = await lockEndpoint(tx, tenantId, id);
    await uncountDeliveries(tx, { endpointId: id });
    await tx.query('DELETE FROM webhook_endpoints WHERE id = $1 AND tenant_id = $2', [id, tenantId]);
    await appendAudit(tx, tenantId, 'webhook.deleted', { webhook_id: id, url: shownUrl(row.url), ...actor });
  });
}

/** The row the delivery worker needs, secrets included. */
export async function endpointForDelivery(db: Queryable, id: string): Promise<EndpointRow | null> {
  const [row] = await db.query<EndpointRow>(`SELECT ${COLUMNS} FROM webhook_endpoints WHERE id = $1`, [id]);
  return row ?? null;
}

/** Which organisation each endpoint belongs to, for `sigil webhook list` across all of them. */
export async function endpointTenants(db: Queryable): Promise<Map<string, string>> {
  const rows = await db.query<{ id: string; tenant_id: string }>('SELECT id, tenant_id FROM webhook_endpoints');
  return new Map(rows.map((r) => [r.id, r.tenant_id]));
}
