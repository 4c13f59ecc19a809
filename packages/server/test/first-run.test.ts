// What a newcomer meets on a first run: the terminal the server starts in, the URL it prints, and
// the command that lists the devices a request can name.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Api } from '../../../test/support/api.js';
import { DEVICE_CLI, runCli, SIGIL_CLI, startSigil } from '../../../test/support/processes.js';
import { createStore } from '../../../test/support/stores.js';
import { runInTerminal, type TerminalProcess } from '../../../test/support/terminal.js';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-first-run-'));
  dirs.push(dir);
  return dir;
};
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const ESCAPES = /\x1b\[[0-9;?]*[A-Za-z]/g;
const urlOf = (terminal: TerminalProcess) =>
  terminal
    .output()
    .match(/is running at (\S+)/)![1]!
    .replace(ESCAPES, '');
/** The environment without the test runner's log settings: what a person's shell has. */
const shellEnv = { SIGIL_LOG_LEVEL: '', SIGIL_LOG_FORMAT: '', SIGIL_ORG_NAME: '' };

test('in a terminal, the first start asks for the organisation name, then logs readable lines and no line per routine request', async () => {
  const dataDir = tempDir();
  const terminal = runInTerminal([process.execPath, SIGIL_CLI, 'serve', '--port', '0', '--data-dir', dataDir], { env: shellEnv });
  try {
    await terminal.waitFor('Organisation name approvers will see', 'the question', 90_000);
    terminal.type('Acme Corp\r');
    await terminal.waitFor(/is running at http/, 'the banner', 90_000);
    const url = urlOf(terminal);
    const info = (await (await fetch(`${url}/v1/info`)).json()) as { org_name: string };
    assert.equal(info.org_name, 'Acme Corp');
    for (let i = 0; i < 3; i++) assert.equal((await fetch(`${url}/healthz`)).status, 200);
    const shown = terminal.output().length;
    // A routine request is not worth a line at the default level; a failing one still would be.
    assert.equal((await fetch(`${url}/v1/devices`)).status, 401);
    await new Promise((r) => setTimeout(r, 500));
    assert.doesNotMatch(terminal.output(), /incoming request|request completed/);
    assert.doesNotMatch(terminal.output(), /\{"level"/, 'no JSON on a terminal');
    assert.equal(terminal.output().length, shown);
  } finally {
    await terminal.stop();
  }

  // Started again in a terminal, with --log-level info: readable request lines; nothing asked any more.
  const again = runInTerminal([process.execPath, SIGIL_CLI, 'serve', '--port', '0', '--data-dir', dataDir, '--log-level', 'info'], {
    env: shellEnv,
  });
  try {
    await again.waitFor(/is running at http/, 'the banner', 90_000);
    assert.doesNotMatch(again.output(), /Organisation name approvers will see/);
    await fetch(`${urlOf(again)}/healthz`);
    await again.waitFor(/INFO.*request completed/, 'a readable request line');
    assert.doesNotMatch(again.output(), /\{"level"/);
  } finally {
    await again.stop();
  }

  // --log-format json on a terminal: one JSON object per line.
  const json = runInTerminal(
    [process.execPath, SIGIL_CLI, 'serve', '--port', '0', '--data-dir', dataDir, '--log-format', 'json', '--log-level', 'info'],
    { env: shellEnv },
  );
  try {
    await json.waitFor(/is running at http/, 'the banner', 90_000);
    await fetch(`${urlOf(json)}/healthz`);
    await json.waitFor(/\{"level":30,.*"msg":"request completed"/, 'a JSON request line');
  } finally {
    await json.stop();
  }
});

test('--org-name names the organisation without asking; GET / leads to the console; a favicon is served; sigil device list shows what a request needs', async () => {
  const store = await createStore('pglite');
  try {
    const server = await startSigil(store, {}, { args: ['--org-name', 'Globex'] });
    let fingerprint: string;
    let publicKey: string;
    try {
      assert.equal(((await (await fetch(`${server.url}/v1/info`)).json()) as { org_name: string }).org_name, 'Globex');
      const root = await fetch(`${server.url}/`, { redirect: 'manual' });
      assert.equal(root.status, 302);
      assert.equal(root.headers.get('location'), '/console');
      assert.equal((await fetch(`${server.url}/`)).url, `${server.url}/console`);
      for (const path of ['/favicon.ico', '/favicon.svg']) {
        const icon = await fetch(`${server.url}${path}`);
        assert.equal(icon.status, 200, path);
        assert.equal(icon.headers.get('content-type'), 'image/svg+xml');
        assert.match(await icon.text(), /^<svg /);
      }
      assert.match(await (await fetch(`${server.url}/console`)).text(), /<link rel="icon" href="\/favicon.svg"/);

      const api = new Api(server.url, server.apiKey);
      const { body: pairing } = await api.post('/v1/pairings', { name: 'Frank' });
      const paired = await runCli(DEVICE_CLI, [
        'pair',
        '--server',
        server.url,
        '--code',
        pairing.code,
        '--yes',
        '--home',
        join(tempDir(), 'frank'),
      ]);
      assert.equal(paired.code, 0, paired.stderr);
      fingerprint = paired.stdout.match(/^fingerprint: (\S+)$/m)![1]!;
      publicKey = paired.stdout.match(/^public_key: (\S+)$/m)![1]!;
    } finally {
      await server.stop();
    }
    // The embedded store is one process's at a time: list with the server stopped.
    const listed = await runCli(SIGIL_CLI, ['device', 'list', '--data-dir', store.dataDir]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^1 device of Globex/m);
    assert.match(listed.stdout, /^"Frank" {2}active {2}sigil-device {2}paired /m);
    assert.ok(listed.stdout.includes(`  fingerprint: ${fingerprint}\n`), listed.stdout);
    assert.ok(listed.stdout.includes(`  public_key: ${publicKey}\n`), listed.stdout);
    const json = await runCli(SIGIL_CLI, ['device', 'list', '--json', '--data-dir', store.dataDir]);
    assert.deepEqual(
      JSON.parse(json.stdout).data.map((d: { fingerprint: string; device_public_key: string; name: string }) => [
        d.name,
        d.fingerprint,
        d.device_public_key,
      ]),
      [['Frank', fingerprint, publicKey]],
    );
    const test = await runCli(SIGIL_CLI, ['device', 'list', '--test', '--data-dir', store.dataDir]);
    assert.match(test.stdout, /^0 devices of Globex \(test mode\)/m);
  } finally {
    await store.dispose();
  }
});

test('npm install on this Node raises no engine warnings: every locked package accepts it', () => {
  // npm's own range check (semver comes with npm's and fastify's dependencies).
  const satisfies = createRequire(import.meta.url)('semver/functions/satisfies') as (version: string, range: string) => boolean;
  const lock = JSON.parse(readFileSync(new URL('../../../package-lock.json', import.meta.url), 'utf8'));
  const refused = Object.entries<{ engines?: { node?: string } }>(lock.packages)
    .filter(([, p]) => typeof p.engines?.node === 'string' && !satisfies(process.versions.node, p.engines.node))
    .map(([name, p]) => `${name} wants node ${p.engines!.node}`);
  assert.deepEqual(refused, []);
});

test('a device home made inside the checkout by mistake is ignored by git (it holds a private key)', async () => {
  const root = new URL('../../../', import.meta.url).pathname;
  const ignored = await new Promise<string>((resolve, reject) =>
    execFile(
      'git',
      [
        'check-ignore',
        '--no-index',
        'alice/device-key.pem',
        'alice/servers.json',
        '.sigil-device/device-key.pem',
        'alice/device-key.pem.tmp-1-ab',
      ],
      { cwd: root },
      (err, stdout) => (err && !stdout ? reject(err) : resolve(stdout)),
    ),
  );
  assert.deepEqual(ignored.trim().split('\n'), [
    'alice/device-key.pem',
    'alice/servers.json',
    '.sigil-device/device-key.pem',
    'alice/device-key.pem.tmp-1-ab',
  ]);
});
