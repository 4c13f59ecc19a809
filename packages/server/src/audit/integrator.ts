import type { FastifyBaseLogger } from 'fastify';
import { startPeriodic } from '../background/periodic.js';
import type { Database } from '../storage/database.js';
import { integrateTenant, signTreeHeadIfGrown, tenantsNeedingTreeHead, tenantsWithPendingEntries, type TreeHeadSigning } from './store.js';
import { AuditLogTamperedError } from './witness.js';

export interface AuditIntegratorOptions {
  db: Database;
  signing: TreeHeadSigning;
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
  let lastWitnessSweep = -Infinity;
  /** A tampered log has raised its alarm; the others carry on. */
  const unlessTampered = async (work: Promise<unknown>) => {
    try {
      await work;
    } catch (err) {
      if (!(err instanceof AuditLogTamperedError)) throw err;
    }
  };
  return startPeriodic('audit integration', o.intervalMs ?? AUDIT_INTEGRATE_INTERVAL_MS, o.log, async (isStopped) => {
    for (const tenantId of await tenantsWithPendingEntries(o.db)) {
      if (isStopped()) return;
      await integrateTenant(o.db, tenantId);
    }
    for (const tenantId of await tenantsNeedingTreeHead(o.db)) {
      if (isStopped()) return;
      await unlessTampered(signTreeHeadIfGrown(o.db, o.signing, tenantId, o.clock(), signInterval));
    }
    // Logs that do not grow are checked too, so a log cut short is noticed without waiting for its next entry.
    const witness = o.signing.witness;
    if (witness && !isStopped() && performance.now() - lastWitnessSweep >= signInterval) {
      lastWitnessSweep = performance.now();
      await witness.observeAll(o.db, unlessTampered);
    }
  });
}
