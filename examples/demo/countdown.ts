import type { Speaker, Terminal } from './terminal.js';

const TICK_MS = 250;
const PLAIN_STEP_S = 10;
const BAR_WIDTH = 20;

/**
 * Shows the time left until `expiresAt` while `work` runs: one line updated in place on a
 * terminal, otherwise a line every ten seconds.
 */
export async function withCountdown<T>(out: Terminal, speaker: Speaker, expiresAt: string, work: Promise<T>): Promise<T> {
  const deadline = Date.parse(expiresAt);
  const total = Math.max(1, Math.ceil((deadline - Date.now()) / 1000));
  let shown: number | null = null;

  const tick = () => {
    const left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    if (out.tty) {
      if (left === shown) return;
      shown = left;
      const filled = Math.round(((total - left) / total) * BAR_WIDTH);
      const bar = out.paint('█'.repeat(filled), speaker.colour) + out.paint('░'.repeat(BAR_WIDTH - filled), 'dim');
      out.status(`${out.label(speaker)} ⏳ ${bar} ${describe(left)}`);
      return;
    }
    const step = Math.ceil(left / PLAIN_STEP_S);
    if (step === shown) return;
    shown = step;
    out.say(speaker, `⏳ ${describe(left)}`);
  };

  tick();
  const timer = setInterval(tick, TICK_MS);
  try {
    return await work;
  } finally {
    clearInterval(timer);
    out.clearStatus();
  }
}

function describe(left: number): string {
  return left > 0 ? `${left} s left before the request expires` : 'expired; waiting for the final status';
}

/** On a terminal, shows how long `work` has been running; elsewhere just waits for it. */
export async function withElapsed<T>(out: Terminal, speaker: Speaker, text: string, work: Promise<T>): Promise<T> {
  const started = Date.now();
  const tick = () => out.status(`${out.label(speaker)} ${text} ${Math.floor((Date.now() - started) / 1000)} s`);
  tick();
  const timer = setInterval(tick, 1000);
  try {
    return await work;
  } finally {
    clearInterval(timer);
    out.clearStatus();
  }
}
