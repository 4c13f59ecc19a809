import type { FastifyBaseLogger } from 'fastify';

/**
 * Runs `work` every `intervalMs`, never two at once, the first time after `firstAfterMs` (default:
 * one interval). A failure is logged and retried on the next tick. The returned function stops the
 * loop and waits for a run in progress to finish; `isStopped` lets long work end early.
 */
export function startPeriodic(
  name: string,
  intervalMs: number,
  log: FastifyBaseLogger,
  work: (isStopped: () => boolean) => Promise<void>,
  firstAfterMs = intervalMs,
): () => Promise<void> {
  let running: Promise<void> | null = null;
  let stopped = false;
  const isStopped = () => stopped;
  const tick = () => {
    if (running || stopped) return;
    running = work(isStopped)
      .catch((err: Error) => log.warn({ err: err.message }, `${name} failed; retrying`))
      .finally(() => (running = null));
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  const first = firstAfterMs < intervalMs ? setTimeout(tick, firstAfterMs) : null;
  first?.unref();
  return async () => {
    stopped = true;
    clearInterval(timer);
    if (first) clearTimeout(first);
    await running;
  };
}
