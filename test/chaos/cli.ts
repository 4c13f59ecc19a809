// npm run chaos -- [--instances 3] [--duration 120] [--seed N] [--kill-every 10-15] [--restart-every 20-35]
// Prints the seed first and the figures last; exits 1 on any violated invariant.
import { randomInt } from 'node:crypto';
import { parseArgs } from 'node:util';
import { runChaos } from './run.js';

function range(text: string, name: string): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (!m) throw new Error(`--${name} must be seconds or a range of seconds such as 10-15`);
  const [low, high] = [Number(m[1]), Number(m[2] ?? m[1])];
  if (low < 1 || high < low) throw new Error(`--${name}: ${text} is not a range of seconds`);
  return [low, high];
}

function integer(text: string, name: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer from ${min} to ${max}`);
  return n;
}

const { values } = parseArgs({
  options: {
    instances: { type: 'string', default: '3' },
    duration: { type: 'string', default: '120' },
    seed: { type: 'string' },
    'kill-every': { type: 'string', default: '10-15' },
    'restart-every': { type: 'string', default: '20-35' },
  },
});

try {
  const seed = values.seed === undefined ? randomInt(2 ** 31) : integer(values.seed, 'seed', 0, 2 ** 32 - 1);
  console.log(`chaos seed ${seed} (replay with --seed ${seed})`);
  const report = await runChaos({
    instances: integer(values.instances, 'instances', 1, 16),
    durationSeconds: integer(values.duration, 'duration', 70, 86_400),
    seed,
    killEverySeconds: range(values['kill-every'], 'kill-every'),
    restartEverySeconds: range(values['restart-every'], 'restart-every'),
    log: (line) => console.log(line),
  });
  for (const v of report.violations) console.log(`VIOLATION: ${v}`);
  console.log(`chaos figures: ${JSON.stringify(report.figures)}`);
  process.exitCode = report.violations.length === 0 ? 0 : 1;
} catch (err) {
  console.error(`chaos: ${(err as Error).stack ?? err}`);
  process.exitCode = 2;
}
