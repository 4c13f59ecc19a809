import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Api } from '../test/support/api.js';
import { DEVICE_CLI, runCli, startSigil, type SigilProcess } from '../test/support/processes.js';
import { createStore, type TestStore } from '../test/support/stores.js';

const EXAMPLE = fileURLToPath(new URL('./cold-boot.ts', import.meta.url));
const PEOPLE = ['Alice', 'Bob', 'Carol', 'Dave', 'Eve'] as const;

let store: TestStore;
let sigil: SigilProcess;
const homes = new Map<string, string>();
const listeners: ChildProcess[] = [];

before(async () => {
  store = await createStore('pglite');
  sigil = await startSigil(store);
});
after(async () => {
  for (const l of listeners) l.kill('SIGTERM');
  await sigil?.stop();
  await store?.dispose();
  for (const home of homes.values()) rmSync(home, { recursive: true, force: true });
});

test('the guide\'s cold-boot example runs unchanged: Alice and Carol approve, Dave and Eve never answer', async () => {
  const api = new Api(sigil.url, sigil.apiKey);
  const env: Record<string, string> = { SIGIL_URL: sigil.url, SIGIL_API_KEY: sigil.apiKey! };
  for (const person of PEOPLE) {
    const home = mkdtempSync(join(tmpdir(), `sigil-${person}-`));
    homes.set(person, home);
    const { body: pairing } = await api.post('/v1/pairings', { name: person });
    const paired = await runCli(DEVICE_CLI, ['pair', '--server', sigil.url, '--code', pairing.code, '--name', person, '--yes', '--home', home]);
    assert.equal(paired.code, 0, paired.stderr);
    const { body: done } = await api.get(`/v1/pairings/${pairing.pairing_id}`);
    env[`${person.toUpperCase()}_FINGERPRINT`] = done.fingerprint;
    env[`${person.toUpperCase()}_PUBLIC_KEY`] = done.device_public_key;
  }
  for (const person of ['Alice', 'Carol']) {
    const child = spawn(process.execPath, [DEVICE_CLI, 'listen', '--auto', 'approve', '--server', sigil.url, '--home', homes.get(person)!], {
      stdio: 'ignore',
    });
    listeners.push(child);
  }

  const run = await new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', EXAMPLE], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });

  assert.equal(run.code, 0, run.out);
  const id = run.out.match(/^MPA request created: ([0-9a-f-]{36})$/m)?.[1];
  assert.ok(id, run.out);
  assert.match(run.out, /^Waiting for 2 of 3 groups$/m);
  assert.match(run.out, /^MPA approved by: \[ '(Engineering Leads|Security Team)', '(Engineering Leads|Security Team)' \]$/m);
  assert.match(run.out, /^Cold booting engine ENG-001$/m);
  const final = await api.get(`/v1/mpa/requests/${id}`);
  assert.equal(final.body.status, 'approved');
  assert.deepEqual([...final.body.groups_satisfied].sort(), ['Engineering Leads', 'Security Team']);
});
