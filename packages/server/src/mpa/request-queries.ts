import type { MpaStatus } from '@sigilauth/protocol';
import type { DeviceRequestView, MpaRequestView } from '@sigilauth/protocol/wire';
import { ApiError, notFound } from '../http/errors.js';
import { isSupportedTimestamp } from '../http/input-guard.js';
import type { Queryable } from '../storage/database.js';
import { expirySql } from './expiry-rule.js';
import {
  COLUMNS,
  FIXED_COLUMNS,
  STILL_PAIRED,
  toDeviceView,
  toView,
  VIEW_COLUMNS,
  type DeviceRef,
  type FixedRequest,
  type RequestRow,
  type ViewRow,
} from './requests.js';

/** Reading MPA requests: the integrator's list and lookups, and the views and sync pages of approvers' devices. */

export async function getRequest(db: Queryable, tenantId: string, id: string, now: number): Promise<MpaRequestView> {
  const [row] = await db.query<RequestRow>(`SELECT ${COLUMNS} FROM mpa_requests WHERE id = $1 AND tenant_id = $2`, [id, tenantId]);
  if (!row) throw notFound('MPA request');
  return toView(row, now);
}

export interface ListOptions {
  status?: MpaStatus | undefined;
  limit: number;
  cursor?: string | undefined;
  now: number;
}

const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A next_cursor as listRequests made it: [created_at as toISOString gives it, id]; anything else is a 400. */
function decodeListCursor(cursor: string): [string, string] {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    decoded = null;
  }
  if (Array.isArray(decoded) && decoded.length === 2) {
    const [time, id] = decoded as unknown[];
    if (typeof time === 'string' && typeof id === 'string' && CURSOR_TIME.test(time) && isSupportedTimestamp(time) && UUID.test(id))
      return [time, id];
  }
  throw new ApiError('invalid_request', 'cursor is not valid: pass back the next_cursor of the previous page');
}

/** Newest first, keyset-paginated by (created_at, id). */
export async function listRequests(db: Queryable, tenantId: string, { status, limit, cursor, now }: ListOptions) {
  const after = cursor ? decodeListCursor(cursor) : null;
  const rows = await db.query<RequestRow>(
    `SELECT ${COLUMNS} FROM mpa_requests
     WHERE tenant_id = $1
       AND ($2::text IS NULL OR (CASE WHEN release_due_at IS NOT NULL THEN status ELSE ${expirySql.effectiveStatus('', '$3')} END) = $2)
       AND ($4::timestamptz IS NULL OR (created_at, id) < ($4, $5::uuid))
     ORDER BY created_at DESC, id DESC LIMIT $6`,
    [tenantId, status ?? null, new Date(now), after?.[0] ?? null, after?.[1] ?? null, limit + 1],
  );
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  const next =
    rows.length > limit && last ? Buffer.from(JSON.stringify([last.created_at.toISOString(), last.id])).toString('base64url') : null;
  return { data: page.map((r) => toView(r, now)), next_cursor: next };
}

/** How many requests' fixed fields each store keeps in memory (the newest read). */
export const FIXED_REQUESTS_KEPT = 1_000;
const fixedRequests = new WeakMap<Queryable, Map<string, FixedRequest>>();

/**
 * A request's fixed fields, for checking a decision: they never change and requests are never
 * deleted, so the first read is kept and the other approvers' decisions skip it, on every instance.
 */
export async function findFixedRequest(db: Queryable, id: string): Promise<FixedRequest | null> {
  let kept = fixedRequests.get(db);
  if (!kept) fixedRequests.set(db, (kept = new Map()));
  const known = kept.get(id);
  if (known) return known;
  const [row] = await db.query<FixedRequest>(`SELECT ${FIXED_COLUMNS} FROM mpa_requests WHERE id = $1`, [id]);
  if (!row) return null;
  if (kept.size >= FIXED_REQUESTS_KEPT) kept.delete(kept.keys().next().value!);
  kept.set(id, row);
  return row;
}

/**
 * Named requests as the given device should see them: those of the device's own organisation that
 * name it (the tenant is matched as well as the fingerprint, so a session never reads another
 * organisation's requests).
 */
export async function deviceViews(db: Queryable, device: DeviceRef, requestIds: string[], now: number): Promise<DeviceRequestView[]> {
  const rows = await db.query<ViewRow>(
    `SELECT ${VIEW_COLUMNS}
       FROM mpa_approvers a JOIN mpa_requests r ON r.id = a.request_id
      WHERE a.request_id = ANY($2::uuid[]) AND a.fingerprint = $1 AND r.tenant_id = $3 AND ${STILL_PAIRED}
      ORDER BY r.created_at`,
    [device.fingerprint, requestIds, device.tenantId],
  );
  return rows.map((row) => toDeviceView(row, now));
}

/** Most requests in one page of a device's sync: far below any client's message limit (each view is at most about 10 KiB). */
export const SYNC_PAGE_SIZE = 20;
/** Most bytes of views in one page, whatever the views weigh. */
export const SYNC_PAGE_MAX_BYTES = 256 * 1024;

export interface ViewPage {
  requests: DeviceRequestView[];
  /** Pass as `cursor` for the next page; null on the last page. */
  next_cursor: string | null;
}

/** A cursor is the ID of the last request of the previous page. */
export const isSyncCursor = (cursor: unknown): cursor is string =>
  typeof cursor === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(cursor);

/**
 * One page of the pending requests naming a device, newest first, so that a device always
 * reaches its newest requests first however many are waiting. A page holds at most
 * SYNC_PAGE_SIZE requests and SYNC_PAGE_MAX_BYTES of JSON. A cursor naming no request of the
 * device's organisation gives an empty page, as an unknown one does: another organisation's
 * request must not order the page, or the page would tell that it exists and when it was made.
 */
export async function pendingViewsPage(db: Queryable, device: DeviceRef, now: number, cursor: string | null = null): Promise<ViewPage> {
  const rows = await db.query<ViewRow>(
    `SELECT ${VIEW_COLUMNS}
       FROM mpa_approvers a JOIN mpa_requests r ON r.id = a.request_id
      WHERE a.fingerprint = $1 AND r.tenant_id = $5 AND a.pending AND ${expirySql.stillPending('r', '$2')} AND ${STILL_PAIRED}
        AND ($3::uuid IS NULL OR (r.created_at, r.id) < (SELECT c.created_at, c.id FROM mpa_requests c WHERE c.id = $3::uuid AND c.tenant_id = $5))
      ORDER BY r.created_at DESC, r.id DESC
      LIMIT $4`,
    [device.fingerprint, new Date(now), cursor, SYNC_PAGE_SIZE + 1, device.tenantId],
  );
  const requests: DeviceRequestView[] = [];
  let bytes = 0;
  for (const row of rows.slice(0, SYNC_PAGE_SIZE)) {
    const view = toDeviceView(row, now);
    bytes += Buffer.byteLength(JSON.stringify(view));
    if (requests.length > 0 && bytes > SYNC_PAGE_MAX_BYTES) break;
    requests.push(view);
  }
  const more = requests.length < rows.length;
  return { requests, next_cursor: more ? requests[requests.length - 1]!.request_id : null };
}

/**
 * A request as each of its approvers' devices still paired with its organisation sees it, by
 * fingerprint: what a push to all of them needs, in one read.
 */
export async function approverViews(
  db: Queryable,
  tenantId: string,
  requestId: string,
  now: number,
): Promise<Map<string, DeviceRequestView>> {
  const rows = await db.query<ViewRow & { fingerprint: string }>(
    `SELECT a.fingerprint, ${VIEW_COLUMNS}
       FROM mpa_approvers a JOIN mpa_requests r ON r.id = a.request_id
      WHERE a.request_id = $1 AND r.tenant_id = $2 AND ${STILL_PAIRED}`,
    [requestId, tenantId],
  );
  return new Map(rows.map((row) => [row.fingerprint, toDeviceView(row, now)]));
}

/** Whether a device has already decided on a request. */
export async function hasDecided(db: Queryable, requestId: string, fingerprint: string): Promise<boolean> {
  const rows = await db.query('SELECT 1 FROM mpa_decisions WHERE request_id = $1 AND fingerprint = $2', [requestId, fingerprint]);
  return rows.length > 0;
}
