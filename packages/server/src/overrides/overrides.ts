import { randomUUID } from 'node:crypto';
import {
  EMERGENCY_OVERRIDE_ACTION,
  MpaValidationError,
  TERMINAL_STATUSES,
  validateMpaRequest,
  type MpaAction,
  type MpaStatus,
  type RequestedBy,
} from '@sigilauth/protocol';
import type { OverrideCreated, OverrideInput, OverrideStatus, OverrideView } from '@sigilauth/protocol/wire';
import { appendAudit } from '../audit/log.js';
import { recordEvent } from '../events/outbox.js';
import { ApiError } from '../http/errors.js';
import { effectiveStatus } from '../mpa/expiry-rule.js';
import { createRequestIn } from '../mpa/request-transitions.js';
import { hashBody, toView } from '../mpa/requests.js';
import type { Database, Queryable } from '../storage/database.js';
import { overrideSettings } from './settings.js';

/**
 * Break glass (docs/governance.md): an emergency action performed without approval is recorded
 * at once, and in the same transaction Sigil opens the post-facto review request the
 * organisation's review teams decide. The override stays awaiting review until that request ends.
 */

const DAY_MS = 24 * 3_600_000;

/** Review action params Sigil adds; the overridden action's own params are shown beside them. */
const REVIEW_PARAMS = ['override_reason', 'override_action', 'override_id'] as const;

function reviewAction(id: string, input: OverrideInput): MpaAction {
  const params = input.action.params ?? {};
  for (const key of REVIEW_PARAMS) {
    if (key in params) throw new ApiError('invalid_request', `action.params.${key} is reserved for the review request`);
  }
  return {
    type: EMERGENCY_OVERRIDE_ACTION,
    description: `Emergency override: ${input.action.description}`,
    params: { override_reason: input.reason, override_action: input.action.type, override_id: id, ...params },
  };
}

/** Group names of the review request: each team's name, with its slug when two teams share a name. */
async function reviewGroups(tx: Queryable, tenantId: string, slugs: string[]): Promise<Array<{ name: string; team: string }>> {
  const rows = await tx.query<{ slug: string; name: string }>(
    'SELECT slug, name FROM teams WHERE tenant_id = $1 AND slug = ANY($2::text[])',
    [tenantId, slugs],
  );
  const names = new Map(rows.map((r) => [r.slug, r.name]));
  const counts = new Map<string, number>();
  for (const name of names.values()) counts.set(name, (counts.get(name) ?? 0) + 1);
  return slugs.map((slug) => {
    const name = names.get(slug) ?? slug;
    return { name: (counts.get(name) ?? 0) > 1 ? `${name} (${slug})` : name, team: slug };
  });
}

export async function createOverride(
  db: Database,
  tenantId: string,
  input: OverrideInput,
  { now, maxPendingPerDevice }: { now: number; maxPendingPerDevice?: number },
): Promise<OverrideCreated> {
  return db.transaction(async (tx) => {
    const settings = await overrideSettings(tx, tenantId, true);
    if (!settings.enabled) {
      throw new ApiError(
        'overrides_disabled',
        'emergency overrides are turned off for this organisation; turn them on, with the teams that review them, in the console or with PUT /v1/overrides/settings',
      );
    }
    if (settings.daily_limit !== null) {
      const recent = await tx.query<{ created_at: Date }>(
        'SELECT created_at FROM overrides WHERE tenant_id = $1 AND created_at > $2 ORDER BY created_at LIMIT $3',
        [tenantId, new Date(now - DAY_MS), settings.daily_limit],
      );
      if (recent.length >= settings.daily_limit) {
        const retryAfter = Math.max(1, Math.ceil((recent[0]!.created_at.getTime() + DAY_MS - now) / 1000));
        throw new ApiError(
          'override_limit_reached',
          `this organisation allows ${settings.daily_limit} emergency override${settings.daily_limit === 1 ? '' : 's'} in 24 hours, and that many have been made`,
          { limit: settings.daily_limit, retry_after_seconds: retryAfter },
        );
      }
    }
    const id = randomUUID();
    let policy;
    try {
      policy = validateMpaRequest({
        required: settings.review_required,
        groups: await reviewGroups(tx, tenantId, settings.review_teams),
        action: reviewAction(id, input),
        expires_in_seconds: settings.review_expires_in_seconds,
        ...(input.requested_by ? { requested_by: input.requested_by } : {}),
      });
    } catch (err) {
      if (err instanceof MpaValidationError)
        throw new ApiError('invalid_request', err.message.replace('Invalid MPA request', 'Invalid override'));
      throw err;
    }
    const { row: review } = await createRequestIn(tx, tenantId, policy, {
      bodyHash: hashBody({ override_id: id }),
      now,
      ...(maxPendingPerDevice !== undefined ? { maxPendingPerDevice } : {}),
    });
    const action = { type: input.action.type, description: input.action.description, params: input.action.params ?? {} };
    await tx.query(
      `INSERT INTO overrides (id, tenant_id, reason, action, requested_by, review_request_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        id,
        tenantId,
        input.reason,
        JSON.stringify(action),
        input.requested_by ? JSON.stringify(input.requested_by) : null,
        review.id,
        new Date(now),
      ],
    );
    const fields = {
      override_id: id,
      reason: input.reason,
      action,
      requested_by: input.requested_by ?? null,
      review_request_id: review.id,
    };
    await appendAudit(tx, tenantId, 'override.created', { ...fields, emergency: true }, review.id);
    await recordEvent(tx, tenantId, 'override.created', { ...fields, timestamp: new Date(now).toISOString() }, review.id);
    return {
      override_id: id,
      status: 'awaiting_review',
      reason: input.reason,
      action,
      requested_by: input.requested_by ?? null,
      created_at: new Date(now).toISOString(),
      reviewed_at: null,
      review_request_id: review.id,
      review_status: 'pending',
      review_request: toView(review, now),
    };
  });
}

interface OverrideRow {
  id: string;
  reason: string;
  action: Required<MpaAction>;
  requested_by: RequestedBy | null;
  created_at: Date;
  reviewed_at: Date | null;
  review_request_id: string;
  review_status: MpaStatus;
  expires_at: Date;
}

/** An override ends its wait for review when its review request ends (a request past its expiry has ended, swept or not). */
function toOverrideView(row: OverrideRow, now: number): OverrideView {
  const reviewStatus = effectiveStatus(row.review_status, row.expires_at.getTime(), now);
  const reviewed = row.reviewed_at !== null || TERMINAL_STATUSES.includes(reviewStatus);
  return {
    override_id: row.id,
    status: reviewed ? 'reviewed' : 'awaiting_review',
    reason: row.reason,
    action: row.action,
    requested_by: row.requested_by,
    created_at: row.created_at.toISOString(),
    reviewed_at: row.reviewed_at?.toISOString() ?? (reviewed ? row.expires_at.toISOString() : null),
    review_request_id: row.review_request_id,
    review_status: reviewStatus,
  };
}

/** The organisation's most recent overrides (at most 100), newest first, optionally only those awaiting review or reviewed. */
export async function listOverrides(
  db: Queryable,
  tenantId: string,
  status: OverrideStatus | undefined,
  now: number,
): Promise<OverrideView[]> {
  const rows = await db.query<OverrideRow>(
    `SELECT o.id, o.reason, o.action, o.requested_by, o.created_at, o.reviewed_at, o.review_request_id, r.status AS review_status, r.expires_at
       FROM overrides o JOIN mpa_requests r ON r.id = o.review_request_id
      WHERE o.tenant_id = $1 AND ($2::text IS DISTINCT FROM 'awaiting_review' OR o.reviewed_at IS NULL)
      ORDER BY o.created_at DESC, o.id DESC LIMIT 100`,
    [tenantId, status ?? null],
  );
  return rows.map((r) => toOverrideView(r, now)).filter((o) => status === undefined || o.status === status);
}
