import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SigilAuth } from '@sigilauth/sdk';
import { App } from './app.js';
import { Cast } from './people.js';
import type { ProcessGroup } from './processes.js';
import { pairEveryone } from './scenarios.js';
import type { Terminal } from './terminal.js';

/** The environment examples/cold-boot.ts reads for each approver. */
export const approverVariables = (name: string) => [`${name.toUpperCase()}_FINGERPRINT`, `${name.toUpperCase()}_PUBLIC_KEY`] as const;

/**
 * `npm run demo -- --devices-only`: pairs the five demo approvers with the server you already run
 * (SIGIL_URL, SIGIL_API_KEY), prints the `export` lines examples/cold-boot.ts needs, and keeps the
 * devices listening as the guide's story has it (Alice and Carol approve, Bob, Dave and Eve only
 * look) until Ctrl-C.
 */
export async function devicesOnly(out: Terminal, procs: ProcessGroup, root: string): Promise<void> {
  const serviceUrl = process.env.SIGIL_URL || 'http://127.0.0.1:8080';
  const apiKey = process.env.SIGIL_API_KEY;
  if (!apiKey) throw new Error('SIGIL_API_KEY is not set: export the API key `sigil serve` printed on first start, then run this again.');
  const sigil = new SigilAuth({ serviceUrl, apiKey, timeoutMs: 10_000 });
  out.heading(
    'Five demo approvers for your Sigil server',
    `Server: ${serviceUrl}`,
    'Each person gets a sigil-device of their own, paired with a fresh code.',
  );
  const devices = join(root, 'devices');
  mkdirSync(devices);
  const cast = new Cast(devices, serviceUrl, procs);
  await pairEveryone({ out, app: new App(sigil, out), cast });
  out.narrate('Alice and Carol approve every request at once (`listen --auto approve`); Bob, Dave and Eve only display theirs.');
  await Promise.all(cast.everyone.map((p) => p.listen(p.name === 'Alice' || p.name === 'Carol' ? 'approve' : undefined)));
  const exports = [`export SIGIL_URL=${serviceUrl}`];
  for (const person of cast.everyone) {
    const [fp, pk] = approverVariables(person.name);
    exports.push(`export ${fp}=${person.approver.fingerprint}`, `export ${pk}=${person.approver.device_public_key}`);
  }
  out.heading('Ready. In another terminal, in the checkout, with SIGIL_API_KEY exported there too, paste these lines:');
  for (const line of exports) out.line(line);
  out.line();
  out.narrate('Then run `node --import tsx examples/cold-boot.ts`. The devices stay paired and listening here until Ctrl-C.');
  await new Promise<never>(() => {});
}
