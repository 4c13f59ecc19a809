import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Proc, ProcessGroup } from './processes.js';
import type { Speaker } from './terminal.js';

export const SIGIL_CLI = fileURLToPath(new URL('../../packages/server/bin/sigil.js', import.meta.url));
export const SERVER: Speaker = { name: 'Sigil', colour: 'grey' };

const START_TIMEOUT_MS = 90_000;

export interface SigilServer {
  url: string;
  apiKey: string;
  proc: Proc;
}

export function requireBuilt(path: string): void {
  if (!existsSync(path)) throw new Error(`${path} is missing: build first (npm run build).`);
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|\[::1\]|localhost)$/;

/** Starts `sigil serve` on a free loopback port with a fresh embedded store, and reads its URL and first API key. */
export async function startSigil(procs: ProcessGroup, dataDir: string, orgName: string): Promise<SigilServer> {
  requireBuilt(SIGIL_CLI);
  let keyFollows = false;
  const proc = procs.start(
    SERVER,
    'sigil serve',
    SIGIL_CLI,
    ['serve', '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir, '--log-level', 'warn'],
    {
      env: { SIGIL_ORG_NAME: orgName },
      display: (line) => {
        const isKey = keyFollows;
        keyFollows = line.startsWith('First API key');
        return isKey ? `  ${line.trim().slice(0, 16)}… (used by the app below)` : line;
      },
    },
  );
  const what = `sigil serve to print its URL and first API key`;
  const [, url] = await proc.waitFor(/ is running at (\S+)$/, what, { timeoutMs: START_TIMEOUT_MS });
  await proc.waitFor(/^First API key/, what, { timeoutMs: START_TIMEOUT_MS });
  const keyIntro = proc.lines.findIndex((l) => l.startsWith('First API key'));
  const [, apiKey] = await proc.waitFor(/^ {2}(\S+)$/, what, { since: keyIntro + 1, timeoutMs: START_TIMEOUT_MS });
  if (!LOOPBACK.test(new URL(url!).hostname)) throw new Error(`sigil serve is listening on ${url}, not on loopback: refusing to go on.`);
  return { url: url!, apiKey: apiKey!, proc };
}
