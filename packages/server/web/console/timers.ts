/** Timers of the current view, stopped when the view changes. */
let cleanup: Array<() => void> = [];

/** Runs `stop` when the view changes. */
export function onLeave(stop: () => void): void {
  cleanup.push(stop);
}

export function stopTimers(): void {
  for (const stop of cleanup) stop();
  cleanup = [];
}

export function every(ms: number, fn: () => Promise<void> | void): void {
  const timer = window.setInterval(() => {
    if (document.visibilityState === 'visible') void fn();
  }, ms);
  cleanup.push(() => window.clearInterval(timer));
}
