/** The current view's lifetime: its timers, stopped when the view changes, and its place on the page. */
import { $ } from '../lib/dom.js';

let cleanup: Array<() => void> = [];
/** Counts changes of view. */
let generation = 0;

/** Runs `stop` when the view changes. */
export function onLeave(stop: () => void): void {
  cleanup.push(stop);
}

export function stopTimers(): void {
  generation++;
  for (const stop of cleanup) stop();
  cleanup = [];
}

/**
 * The page's main element, for the view that asks now. A view's loads can finish after the user
 * has moved on (a refresh in flight, the reload after an action): once the view has changed, what
 * they draw goes into a detached element instead of over the next view.
 */
export function viewMain(): () => HTMLElement {
  const mine = generation;
  return () => (mine === generation ? $('#main') : document.createElement('main'));
}

export function every(ms: number, fn: () => Promise<void> | void): void {
  const timer = window.setInterval(() => {
    if (document.visibilityState === 'visible') void fn();
  }, ms);
  cleanup.push(() => window.clearInterval(timer));
}
