// `npm run demo`: a Sigil server on embedded storage, five approver devices as real
// `sigil-device` processes, and the product guide's three outcomes played through the SDK.
// `npm run demo -- --devices-only`: only the five devices, paired with the server you run.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SigilAuth } from '@sigilauth/sdk';
import { App } from './demo/app.js';
import { withElapsed } from './demo/countdown.js';
import { devicesOnly } from './demo/devices-only.js';
import { Cast } from './demo/people.js';
import { ProcessGroup } from './demo/processes.js';
import { coldBoot, deniedByOne, pairEveryone, timesOut } from './demo/scenarios.js';
import { SERVER, startSigil } from './demo/server.js';
import { Terminal } from './demo/terminal.js';

const ORG_NAME = 'Acme Corp';

const out = new Terminal();
const started = Date.now();
const root = mkdtempSync(join(tmpdir(), 'sigil-demo-'));
const childEnv: NodeJS.ProcessEnv = { ...process.env };
delete childEnv.DATABASE_URL;
delete childEnv.SIGIL_DEVICE_HOME;
const procs = new ProcessGroup(out, childEnv);

let shuttingDown: Promise<void> | null = null;
function shutDown(): Promise<void> {
  shuttingDown ??= procs.stopAll().finally(() => rmSync(root, { recursive: true, force: true }));
  return shuttingDown;
}

process.on('exit', () => {
  procs.killAll();
  rmSync(root, { recursive: true, force: true });
});

let interrupted = false;
const SIGNAL_EXIT_CODES = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 } as const;
for (const [signal, code] of Object.entries(SIGNAL_EXIT_CODES)) {
  process.on(signal, () => {
    if (interrupted) process.exit(code);
    interrupted = true;
    out.clearStatus();
    out.line(out.paint(`\n${signal}: stopping the server and every device…`, 'yellow'));
    void shutDown().finally(() => process.exit(code));
  });
}

async function main(): Promise<void> {
  if (process.argv.includes('--devices-only')) return devicesOnly(out, procs, root);
  out.heading(
    'Sigil multi-party approval demo',
    `A Sigil server for ${ORG_NAME} on embedded storage, and five approvers, each on their own sigil-device.`,
    'Lines are labelled by who sees them: [App] is the integrator using the SDK, [Alice]…[Eve] are devices.',
  );
  const dataDir = join(root, 'server');
  mkdirSync(dataDir);
  out.narrate('Starting `sigil serve --port 0` on loopback with a fresh embedded store (first start creates the database).');
  const server = await withElapsed(out, SERVER, 'starting…', startSigil(procs, dataDir, ORG_NAME));
  const sigil = new SigilAuth({ serviceUrl: server.url, apiKey: server.apiKey, timeoutMs: 10_000 });
  const devices = join(root, 'devices');
  mkdirSync(devices);
  const stage = { out, app: new App(sigil, out), cast: new Cast(devices, server.url, procs) };

  await pairEveryone(stage);
  await coldBoot(stage);
  await deniedByOne(stage);
  await timesOut(stage);

  out.heading(
    `Done in ${Math.round((Date.now() - started) / 1000)} s`,
    'approved (2 of 3 groups, 2 people silent) · rejected (one denial) · timeout (60 s, nobody answered)',
  );
}

try {
  await main();
} catch (err) {
  if (!interrupted) {
    out.clearStatus();
    out.line(out.paint(`\nDemo failed: ${(err as Error).message}`, 'red', 'bold'));
    process.exitCode = 1;
  }
}
if (!interrupted) {
  await shutDown();
  process.exit();
}
