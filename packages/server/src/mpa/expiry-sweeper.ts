import type { FastifyBaseLogger } from 'fastify';
import { startPeriodic } from '../background/periodic.js';
import type { Database } from '../storage/database.js';
import { expireDueRequests } from './request-transitions.js';

export const SWEEP_INTERVAL_MS = 250;

/**
 * Ends pending requests at their expiry, so devices and webhooks learn of a timeout even when
 * nobody polls, and releases decisions held for timing privacy when their release is due. Every instance runs one; SKIP LOCKED gives each due request to exactly one.
 */
export function startExpirySweeper(db: Database, clock: () => number, log: FastifyBaseLogger): () => Promise<void> {
  return startPeriodic('expiry sweep', SWEEP_INTERVAL_MS, log, async (isStopped) => {
    while (!isStopped() && (await expireDueRequests(db, clock())) > 0);
  });
}
