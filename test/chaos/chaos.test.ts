// A short chaos run (see test/chaos/run.ts and docs/reliability.md): three instances on a
// PostgreSQL of its own, killed and restarted, while decisions race and requests expire.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { describePostgres } from '../support/stores.js';
import { runChaos } from './run.js';

describePostgres('chaos: a short run keeps every invariant', () => {
  test('3 instances, kills, PostgreSQL restarts, races and expiries', { timeout: 900_000 }, async () => {
    const seed = process.env.SIGIL_CHAOS_SEED ? Number(process.env.SIGIL_CHAOS_SEED) : randomInt(2 ** 31);
    const report = await runChaos({
      instances: 3,
      durationSeconds: 100,
      seed,
      killEverySeconds: [10, 15],
      restartEverySeconds: [20, 30],
      log: (line) => console.log(line),
    });
    console.log(`chaos figures: ${JSON.stringify(report.figures)}`);
    assert.deepEqual(report.violations, [], `seed ${seed}`);
    assert.ok(report.figures.kills >= 1 && report.figures.databaseRestarts >= 1, `faults were injected: ${JSON.stringify(report.figures)}`);
    assert.ok(report.figures.decisionsAccepted > 0 && report.figures.lateDecisions > 0, 'the workload ran');
  });
});
