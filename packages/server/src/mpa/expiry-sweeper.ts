import type { FastifyBaseLogger } from 'fastify';
import type { Database } from '../storage/database.js';
import { expireDueRequests } from './requests.js';

export const SWEEP_INTERVAL_MS = 250;

/**
 * Ends pending requests at their expiry, so devices and webhooks learn of a timeout even when
 * nobody polls. Every instance runs one; SKIP LOCKED gives each due request to exactly one.
 */
export function startExpirySweeper(db: Database, clock: () => number, log: FastifyBaseLogger): () => Promise<void> {
  let running: Promise<void> | null = null;
  let stopped = false;
  const tick = () => {
    if (running || stopped) return;
    running = (async () => {
      try {
        while (!stopped && (await expireDueRequests(db, clock())) > 0);
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'expiry sweep failed; retrying');
      } finally {
        running = null;
      }
    })();
  };
  const timer = setInterval(tick, SWEEP_INTERVAL_MS);
  timer.unref();
  return async () => {
    stopped = true;
    clearInterval(timer);
    await running;
  };
}
