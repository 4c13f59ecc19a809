// Sigil used from outside the repository, as a newcomer installs it: the tarballs `npm run pack`
// makes, installed with npm into directories that cannot see the workspace, then run from there.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchSigil, type LaunchedSigil } from '../support/processes.js';
import { Api } from '../support/api.js';
import { waitFor } from '../support/wait.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PEOPLE = ['Alice', 'Bob', 'Carol', 'Dave', 'Eve'] as const;
const INSTALL_TIMEOUT_MS = 300_000;

/** The environment without anything npm set for the workspace's own scripts (npm test runs us). */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'NODE_PATH' && k !== 'SIGIL_DEVICE_HOME'),
  );
  return { ...env, ...extra };
}

function run(
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  timeoutMs = INSTALL_TIMEOUT_MS,
): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env, timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` });
    });
  });
}

describe('installed from the npm tarballs, outside the repository', () => {
  let root: string;
  const packs = () => join(root, 'packs');
  const tarball = (name: string) => join(packs(), `sigilauth-${name}-0.1.0.tgz`);
  let prefix: string;
  let elsewhere: string;
  let userHome: string;
  let sigil: LaunchedSigil | null = null;
  const listeners: ChildProcess[] = [];
  /** The commands installed with `npm install -g`, on PATH, run from a directory that is not the checkout. */
  const userEnv = () => cleanEnv({ PATH: `${join(prefix, 'bin')}:${process.env.PATH}`, HOME: userHome, XDG_CONFIG_HOME: '' });

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'sigil-install-'));
    assert.ok(!root.startsWith(ROOT), 'the temporary directory is outside the checkout');
    prefix = join(root, 'prefix');
    elsewhere = join(root, 'somewhere');
    userHome = join(root, 'home');
    for (const dir of [prefix, elsewhere, userHome]) mkdirSync(dir, { recursive: true });
    // What `npm run pack` does after building (the build is done: npm test builds first), into a folder it makes.
    const packed = await run(process.execPath, [join(ROOT, 'scripts', 'pack.mjs'), packs()], ROOT, cleanEnv());
    assert.equal(packed.code, 0, packed.out);
  });
  after(async () => {
    for (const l of listeners) l.kill('SIGTERM');
    if (sigil) {
      sigil.child.kill('SIGTERM');
      await new Promise((resolve) => (sigil!.child.exitCode !== null ? resolve(null) : sigil!.child.once('exit', resolve)));
    }
    rmSync(root, { recursive: true, force: true });
  });

  test('each tarball holds its build, types and bins, and names its workspace dependencies by a version the others satisfy', () => {
    const versions = new Map<string, string>();
    for (const name of ['protocol', 'sdk', 'server', 'device']) {
      const manifest = JSON.parse(readFileSync(join(ROOT, 'packages', name, 'package.json'), 'utf8'));
      versions.set(manifest.name, manifest.version);
      assert.ok(existsSync(tarball(name)), `${tarball(name)} was written`);
    }
    for (const name of ['protocol', 'sdk', 'server', 'device']) {
      const manifest = JSON.parse(readFileSync(join(ROOT, 'packages', name, 'package.json'), 'utf8'));
      for (const [dep, range] of Object.entries<string>(manifest.dependencies ?? {})) {
        if (!dep.startsWith('@sigilauth/')) continue;
        assert.equal(range, versions.get(dep), `${manifest.name} depends on ${dep} ${range}, the version its tarball has`);
      }
    }
  });

  test('sigil and sigil-device install with npm install -g and run from any directory', { timeout: INSTALL_TIMEOUT_MS * 2 }, async () => {
    const installed = await run(
      'npm',
      ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', tarball('protocol'), tarball('server'), tarball('device')],
      elsewhere,
      cleanEnv(),
    );
    assert.equal(installed.code, 0, installed.out);
    assert.ok(lstatSync(join(prefix, 'lib', 'node_modules', '@sigilauth', 'server')).isDirectory(), 'a copy, not a link to the workspace');
    for (const bin of ['sigil', 'sigil-device']) {
      const version = await run(bin, ['--version'], elsewhere, userEnv());
      assert.equal(version.code, 0, version.out);
      assert.equal(version.out.trim(), '0.1.0');
    }

    sigil = await launchSigil({
      cli: join(prefix, 'lib', 'node_modules', '@sigilauth', 'server', 'bin', 'sigil.js'),
      args: ['--port', '0', '--data-dir', join(root, 'data'), '--org-name', 'Acme Corp'],
      env: userEnv() as Record<string, string>,
      timeoutMs: 120_000,
    });
    assert.ok(sigil.apiKey, sigil.output());
    assert.equal((await fetch(`${sigil.url}/console`)).status, 200, 'the web front end is in the tarball');

    const api = new Api(sigil.url, sigil.apiKey);
    const { body: pairing } = await api.post('/v1/pairings', { name: 'Alice' });
    const paired = await run(
      'sigil-device',
      ['pair', '--server', sigil.url, '--code', pairing.code, '--yes'],
      elsewhere,
      userEnv(),
      60_000,
    );
    assert.equal(paired.code, 0, paired.out);
    assert.match(paired.out, /Paired with Acme Corp as "Alice"/);
    assert.ok(existsSync(join(userHome, '.config', 'sigil-device', 'device-key.pem')), 'the device home is per user');
    assert.deepEqual(readdirSync(elsewhere), [], 'nothing is written where the command ran');
  });

  test(
    "the SDK installs into a new project from its tarballs, type-checks, and runs the guide's example against the server",
    { timeout: INSTALL_TIMEOUT_MS * 2 },
    async () => {
      assert.ok(sigil, 'the server from the previous test is running');
      const app = join(root, 'my-app');
      mkdirSync(app);
      writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'my-app', private: true, type: 'module' }));
      writeFileSync(
        join(app, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            target: 'ES2022',
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            strict: true,
            outDir: 'dist',
            types: ['node'],
            skipLibCheck: false,
          },
        }),
      );
      copyFileSync(join(ROOT, 'examples', 'cold-boot.ts'), join(app, 'cold-boot.ts'));
      const typescript = JSON.parse(readFileSync(join(ROOT, 'node_modules', 'typescript', 'package.json'), 'utf8')).version;
      const installed = await run(
        'npm',
        ['install', '--no-audit', '--no-fund', tarball('protocol'), tarball('sdk'), `typescript@${typescript}`, '@types/node@20'],
        app,
        cleanEnv(),
      );
      assert.equal(installed.code, 0, installed.out);
      const resolved = await run(
        process.execPath,
        ['--input-type=module', '-e', "console.log(import.meta.resolve('@sigilauth/sdk'))"],
        app,
        cleanEnv(),
      );
      assert.ok(
        resolved.out.trim().startsWith(`file://${app}/node_modules/@sigilauth/sdk/`),
        `the SDK resolves inside the project: ${resolved.out}`,
      );

      const compiled = await run(
        process.execPath,
        [join(app, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', app],
        app,
        cleanEnv(),
        120_000,
      );
      assert.equal(compiled.code, 0, `tsc: ${compiled.out}`);

      // Five approvers on the installed sigil-device; Alice and Carol approve, as in the guide.
      const env: Record<string, string> = { SIGIL_URL: sigil!.url, SIGIL_API_KEY: sigil!.apiKey! };
      const api = new Api(sigil!.url, sigil!.apiKey);
      for (const person of PEOPLE) {
        const home = join(root, 'devices', person.toLowerCase());
        const { body: pairing } = await api.post('/v1/pairings', { name: person });
        const paired = await run(
          'sigil-device',
          ['pair', '--server', sigil!.url, '--code', pairing.code, '--yes', '--home', home],
          elsewhere,
          userEnv(),
          60_000,
        );
        assert.equal(paired.code, 0, paired.out);
        env[`${person.toUpperCase()}_FINGERPRINT`] = paired.out.match(/^fingerprint: (\S+)$/m)![1]!;
        env[`${person.toUpperCase()}_PUBLIC_KEY`] = paired.out.match(/^public_key: (\S+)$/m)![1]!;
        if (person === 'Alice' || person === 'Carol') {
          const listener = spawn('sigil-device', ['listen', '--auto', 'approve', '--home', home], {
            cwd: elsewhere,
            env: userEnv(),
            stdio: ['ignore', 'pipe', 'ignore'],
          });
          listeners.push(listener);
          let out = '';
          listener.stdout!.on('data', (d: Buffer) => (out += d.toString()));
          await waitFor(() => out.includes('Waiting for approval requests.'), `${person}'s device to listen`, 60_000);
        }
      }
      const ran = await run(process.execPath, [join(app, 'dist', 'cold-boot.js')], app, cleanEnv(env), 120_000);
      assert.equal(ran.code, 0, ran.out);
      assert.match(ran.out, /^MPA request created: [0-9a-f-]{36}$/m);
      assert.match(ran.out, /^Cold booting engine ENG-001$/m);
    },
  );
});
