/**
 * The product guide is the SDK's specification: its examples must type-check (guide-examples.ts)
 * and the cold-boot example must run unchanged but for serviceUrl and device keys.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { COLD_BOOT_ACTION } from '../../../test/support/cold-boot.js';
import { newApprover } from './keys.js';
import { REQUEST_ID, sendJson, startFakeServer, view } from './fake-server.js';

const run = promisify(execFile);
const SDK_DIR = fileURLToPath(new URL('..', import.meta.url));
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');

describe('the product guide', { timeout: 300_000 }, () => {
  test('every example in guide-examples.ts type-checks against the built SDK (and misuse does not)', async () => {
    const result = await run(process.execPath, [TSC, '--noEmit', '-p', join(SDK_DIR, 'test', 'tsconfig.json')], { cwd: SDK_DIR }).then(
      ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }),
      (err: { code?: number; stdout?: string; stderr?: string }) => ({
        code: err.code ?? 1,
        output: `${err.stdout ?? ''}${err.stderr ?? ''}`,
      }),
    );
    assert.equal(result.code, 0, result.output);
  });

  test('the cold-boot example runs unchanged against a server', async () => {
    const source = await readFile(new URL('guide-examples.ts', import.meta.url), 'utf8');
    const start = source.indexOf("import { SigilAuth } from '@sigilauth/sdk';");
    const end = source.indexOf('// ---- Stubs');
    assert.ok(start >= 0 && end > start);
    let example = source.slice(start, end);

    // The only substitutions the guide allows: the service URL and the devices' keys.
    const approvers = Array.from({ length: 5 }, newApprover);
    let fp = 0;
    let pk = 0;
    example = example
      .replace(/fingerprint: '[^']*'/g, () => `fingerprint: '${approvers[fp++]!.fingerprint}'`)
      .replace(/device_public_key: '[^']*'/g, () => `device_public_key: '${approvers[pk++]!.device_public_key}'`);
    assert.equal(fp, 5);
    assert.equal(pk, 5);

    const polls: string[] = [];
    const server = await startFakeServer((req, res) => {
      if (req.method === 'POST') return sendJson(res, 201, view());
      polls.push(req.url);
      sendJson(res, 200, view({ status: 'approved', groups_satisfied: ['Engineering Leads', 'Security Team'] }));
    });
    after(() => server.close());
    example = example.replace("serviceUrl: 'https://sigil.example.com'", `serviceUrl: '${server.url}'`);

    // The application's own function, and the SDK by path rather than by package name.
    const program =
      "async function coldBootEngine(id) { console.log('COLD BOOT', id); }\n" +
      example.replace("'@sigilauth/sdk'", `'${pathToFileURL(join(SDK_DIR, 'dist', 'index.js')).href}'`);
    const dir = await mkdtemp(join(tmpdir(), 'sigil-guide-'));
    after(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'cold-boot.mjs');
    await writeFile(file, program);

    const { stdout } = await run(process.execPath, [file], { env: { ...process.env, SIGIL_API_KEY: 'sgk_test_guide' } });
    assert.deepEqual(stdout.trim().split('\n'), [
      `MPA request created: ${REQUEST_ID}`,
      'Waiting for 2 of 3 groups',
      "MPA approved by: [ 'Engineering Leads', 'Security Team' ]",
      'COLD BOOT ENG-001',
    ]);
    const create = server.requests[0]!;
    assert.equal(create.headers.authorization, 'Bearer sgk_test_guide');
    assert.deepEqual((create.json as { action: unknown }).action, COLD_BOOT_ACTION);
    assert.deepEqual(polls, [`/v1/mpa/requests/${REQUEST_ID}`]);
  });
});
