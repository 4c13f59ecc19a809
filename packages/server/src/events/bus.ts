import type { Database, Queryable } from '../storage/database.js';

const REQUESTS_CHANNEL = 'sigil_requests';
const DEVICES_CHANNEL = 'sigil_devices_revoked';
const SESSIONS_CHANNEL = 'sigil_approver_sessions_closed';

export interface RequestChanged {
  tenantId: string;
  requestId: string;
}

export interface DeviceRevoked {
  tenantId: string;
  fingerprint: string;
}

/** Announces changes to requests to every instance, once the transaction commits. */
export async function announceRequestsChanged(tx: Queryable, changes: readonly RequestChanged[]): Promise<void> {
  if (changes.length === 0) return;
  await tx.notifyOnCommit(`SELECT pg_notify('${REQUESTS_CHANNEL}', payload) FROM unnest($1::text[]) AS payload`, [
    changes.map((c) => JSON.stringify([c.tenantId, c.requestId])),
  ]);
}

/** Announces a device's revocation to every instance, once the transaction commits. */
export async function announceDeviceRevoked(tx: Queryable, device: DeviceRevoked): Promise<void> {
  await tx.notifyOnCommit(`SELECT pg_notify('${DEVICES_CHANNEL}', payload) FROM unnest($1::text[]) AS payload`, [
    [JSON.stringify([device.tenantId, device.fingerprint])],
  ]);
}

export interface SessionClosed {
  tenantId: string;
  /** The session's id (ApproverSession.id), never its token. */
  sessionId: string;
}

/** Announces that a web approver signed out, once the transaction commits: every instance ends the session's event streams. */
export async function announceSessionClosed(tx: Queryable, session: SessionClosed): Promise<void> {
  await tx.notifyOnCommit(`SELECT pg_notify('${SESSIONS_CHANNEL}', payload) FROM unnest($1::text[]) AS payload`, [
    [JSON.stringify([session.tenantId, session.sessionId])],
  ]);
}

export function onSessionClosed(db: Database, handler: (session: SessionClosed) => void): Promise<() => Promise<void>> {
  return listenForPairs(db, SESSIONS_CHANNEL, (tenantId, sessionId) => handler({ tenantId, sessionId }));
}

export function onRequestChanged(db: Database, handler: (change: RequestChanged) => void): Promise<() => Promise<void>> {
  return listenForPairs(db, REQUESTS_CHANNEL, (tenantId, requestId) => handler({ tenantId, requestId }));
}

export function onDeviceRevoked(db: Database, handler: (device: DeviceRevoked) => void): Promise<() => Promise<void>> {
  return listenForPairs(db, DEVICES_CHANNEL, (tenantId, fingerprint) => handler({ tenantId, fingerprint }));
}

function listenForPairs(db: Database, channel: string, handler: (a: string, b: string) => void): Promise<() => Promise<void>> {
  return db.listen(channel, (payload) => {
    let pair: unknown;
    try {
      pair = JSON.parse(payload);
    } catch {
      return; // not ours
    }
    if (Array.isArray(pair) && pair.length === 2 && typeof pair[0] === 'string' && typeof pair[1] === 'string') handler(pair[0], pair[1]);
  });
}
