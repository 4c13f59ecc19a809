import type { Database, Queryable } from '../storage/database.js';

const CHANNEL = 'sigil_requests';

export interface RequestChanged {
  tenantId: string;
  requestId: string;
}

/** Announces a request change to every instance; PostgreSQL delivers it only if the transaction commits. */
export async function announceRequestChanged(tx: Queryable, change: RequestChanged): Promise<void> {
  await tx.query('SELECT pg_notify($1, $2)', [CHANNEL, JSON.stringify([change.tenantId, change.requestId])]);
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
