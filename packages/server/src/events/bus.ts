import type { Database, Queryable } from '../storage/database.js';

const CHANNEL = 'sigil_requests';

export interface RequestChanged {
  tenantId: string;
  requestId: string;
}

/** Announces a request change to every instance; PostgreSQL delivers it only if the transaction commits. */
export async function announceRequestChanged(tx: Queryable, change: RequestChanged): Promise<void> {
  await tx.write('SELECT pg_notify($1, $2)', announcement(change));
}

/**
 * The channel and payload of announceRequestChanged, for a statement that announces the change
 * with `pg_notify` itself and so spares a round trip (delivery waits for the commit either way).
 */
export function announcement(change: RequestChanged): [channel: string, payload: string] {
  return [CHANNEL, JSON.stringify([change.tenantId, change.requestId])];
}

export function onRequestChanged(db: Database, handler: (change: RequestChanged) => void): Promise<() => Promise<void>> {
  return db.listen(CHANNEL, (payload) => {
    try {
      const [tenantId, requestId] = JSON.parse(payload) as [string, string];
      handler({ tenantId, requestId });
    } catch {
      // not ours
    }
  });
}
