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
import { waitFor } from '../test/support/wait.js';

const EXAMPLE = fileURLToPath(new URL('./cold-boot.ts', import.meta.url));
const DEMO = fileURLToPath(new URL('./demo.ts', import.meta.url));
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

test("the guide's cold-boot example runs unchanged: Alice and Carol approve, Dave and Eve never answer", async () => {
  const api = new Api(sigil.url, sigil.apiKey);
  const env: Record<string, string> = { SIGIL_URL: sigil.url, SIGIL_API_KEY: sigil.apiKey! };
  for (const person of PEOPLE) {
    const home = mkdtempSync(join(tmpdir(), `sigil-${person}-`));
    homes.set(person, home);
    const { body: pairing } = await api.post('/v1/pairings', { name: person });
    const paired = await runCli(DEVICE_CLI, [
      'pair',
      '--server',
      sigil.url,
      '--code',
      pairing.code,
      '--name',
      person,
      '--yes',
      '--home',
      home,
    ]);
    assert.equal(paired.code, 0, paired.stderr);
    const { body: done } = await api.get(`/v1/pairings/${pairing.pairing_id}`);
    env[`${person.toUpperCase()}_FINGERPRINT`] = done.fingerprint;
    env[`${person.toUpperCase()}_PUBLIC_KEY`] = done.device_public_key;
  }
  for (const person of ['Alice', 'Carol']) {
    const child = spawn(
      process.execPath,
      [DEVICE_CLI, 'listen', '--auto', 'approve', '--server', sigil.url, '--home', homes.get(person)!],
      {
        stdio: 'ignore',
      },
    );
    listeners.push(child);
  }

  const run = await runExample(env);
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

test('with a variable unset, the example names it and sends nothing', async () => {
  const env: Record<string, string> = { SIGIL_URL: sigil.url, SIGIL_API_KEY: sigil.apiKey! };
  for (const person of PEOPLE) {
    env[`${person.toUpperCase()}_FINGERPRINT`] = 'a'.repeat(64);
    env[`${person.toUpperCase()}_PUBLIC_KEY`] = 'A'.repeat(44);
  }
  delete env.CAROL_PUBLIC_KEY;
  const before = (await new Api(sigil.url, sigil.apiKey).get('/v1/mpa/requests')).body.data.length;
  const run = await runExample(env);
  assert.equal(run.code, 1, run.out);
  assert.match(run.out, /^Missing environment variable: CAROL_PUBLIC_KEY$/m);
  assert.match(run.out, /npm run demo -- --devices-only/);
  assert.equal((await new Api(sigil.url, sigil.apiKey).get('/v1/mpa/requests')).body.data.length, before, 'no request was made');
});

test('npm run demo -- --devices-only pairs five devices, prints their export lines, and the example then runs end to end', async () => {
  const demo = spawn(process.execPath, ['--import', 'tsx', DEMO, '--devices-only'], {
    env: { ...process.env, SIGIL_URL: sigil.url, SIGIL_API_KEY: sigil.apiKey! },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  demo.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  demo.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  try {
    await waitFor(() => /^export EVE_PUBLIC_KEY=\S+$/m.test(out), 'the export lines', 120_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${out}`);
    });
    const env: Record<string, string> = { SIGIL_API_KEY: sigil.apiKey! };
    for (const [, name, value] of out.matchAll(/^export (\w+)=(\S+)$/gm)) env[name!] = value!;
    assert.equal(env.SIGIL_URL, sigil.url);
    assert.equal(Object.keys(env).filter((k) => /_(FINGERPRINT|PUBLIC_KEY)$/.test(k)).length, 10);
    const run = await runExample(env);
    assert.equal(run.code, 0, run.out);
    assert.match(run.out, /^Cold booting engine ENG-001$/m);
  } finally {
    process.kill(-demo.pid!, 'SIGTERM');
    await new Promise((resolve) => (demo.exitCode !== null ? resolve(null) : demo.once('exit', resolve)));
  }
});

function runExample(env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise<{ code: number | null; out: string }>((resolve) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/_(FINGERPRINT|PUBLIC_KEY)$/.test(k)));
    const child = spawn(process.execPath, ['--import', 'tsx', EXAMPLE], { env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}
