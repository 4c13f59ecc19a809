import type { Database, Queryable } from '../storage/database.js';

const CHANNEL = 'sigil_requests';

export interface RequestChanged {
  tenantId: string;
  requestId: string;
}

/** Announces changes to requests to every instance, once the transaction commits. */
export async function announceRequestsChanged(tx: Queryable, changes: readonly RequestChanged[]): Promise<void> {
  if (changes.length === 0) return;
  await tx.notifyOnCommit(`SELECT pg_notify('${CHANNEL}', payload) FROM unnest($1::text[]) AS payload`, [
    changes.map((c) => JSON.stringify([c.tenantId, c.requestId])),
  ]);
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
