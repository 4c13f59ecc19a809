import type { FastifyBaseLogger } from 'fastify';
import { startPeriodic } from '../background/periodic.js';
import type { Database } from '../storage/database.js';
import { integrateTenant, signTreeHeadIfGrown, tenantsNeedingTreeHead, tenantsWithPendingEntries, type TreeHeadSigner } from './store.js';

export interface AuditIntegratorOptions {
  db: Database;
  sign: TreeHeadSigner;
  serverId: string;
  clock: () => number;
  log: FastifyBaseLogger;
  /** How often to integrate new entries. Default 1000 ms. */
  intervalMs?: number;
  /** Minimum age of the latest tree head before a grown log gets a new one. Default 5000 ms. */
  signIntervalMs?: number;
}

export const AUDIT_INTEGRATE_INTERVAL_MS = 1000;
export const AUDIT_SIGN_INTERVAL_MS = 5000;

/**
 * Every instance runs one: gives new audit entries their leaf index (per-tenant lock, so
 * instances never collide) and signs a tree head when a tenant's log has grown.
 */
export function startAuditIntegrator(o: AuditIntegratorOptions): () => Promise<void> {
  const signInterval = o.signIntervalMs ?? AUDIT_SIGN_INTERVAL_MS;
  return startPeriodic('audit integration', o.intervalMs ?? AUDIT_INTEGRATE_INTERVAL_MS, o.log, async (isStopped) => {
    for (const tenantId of await tenantsWithPendingEntries(o.db)) {
      if (isStopped()) return;
      await integrateTenant(o.db, tenantId);
    }
    for (const tenantId of await tenantsNeedingTreeHead(o.db)) {
      if (isStopped()) return;
      await signTreeHeadIfGrown(o.db, o.sign, o.serverId, tenantId, o.clock(), signInterval);
    }
  });
}
