import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Api } from '../../../test/support/api.js';
import { runCli, SIGIL_CLI, startSigil } from '../../../test/support/processes.js';
import { createStore, describeEachStore, type TestStore } from '../../../test/support/stores.js';
import { waitFor } from '../../../test/support/wait.js';

describeEachStore('the sigil command', (kind) => {
  let store: TestStore;
  const sigil = (...args: string[]) =>
    runCli(SIGIL_CLI, [...args, '--data-dir', store.dataDir], { env: store.databaseUrl ? { DATABASE_URL: store.databaseUrl } : {} });

  before(async () => {
    store = await createStore(kind);
  });
  after(async () => {
    await store?.dispose();
  });

  test('apikey create prints the key alone on the last line; list never shows it; revoke ends it', async () => {
    const created = await sigil('apikey', 'create', '--name', 'ci', '--test');
    assert.equal(created.code, 0, created.stderr);
    const lines = created.stdout.trimEnd().split('\n');
    const key = lines.at(-1)!;
    assert.match(key, /^sgk_test_[0-9a-f]{64}$/);
    const id = created.stdout.match(/Created API key ([0-9a-f-]{36})/)![1]!;

    const listed = await sigil('apikey', 'list');
    assert.equal(listed.code, 0);
    assert.match(listed.stdout, new RegExp(`${id}.*test.*active.*ci`));
    assert.ok(!listed.stdout.includes(key.slice(9)), 'the key itself is never listed');

    const server = await startSigil(store, { SIGIL_LOG_LEVEL: 'info' });
    try {
      const api = new Api(server.url, key);
      assert.equal((await api.get('/v1/devices')).status, 200);
      assert.equal((await api.post('/v1/pairings', { name: 'x' })).status, 201);
      await waitFor(() => server.output().includes('"statusCode":201'), 'the request to be logged');
      assert.match(server.output(), /"statusCode":201/, 'requests are logged');
      assert.ok(!server.output().includes(key.slice(9)), 'no API key in the logs');
    } finally {
      await server.stop();
    }

    const revoked = await sigil('apikey', 'revoke', id);
    assert.equal(revoked.code, 0);
    assert.match((await sigil('apikey', 'list')).stdout, new RegExp(`${id}.*revoked`));
    const server2 = await startSigil(store);
    try {
      assert.equal((await new Api(server2.url, key).get('/v1/devices')).status, 401);
    } finally {
      await server2.stop();
    }
  });

  test('serve --tls-cert/--tls-key serves HTTPS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sigil-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    const server = await startSigil(store, {}, { args: ['--tls-cert', join(dir, 'cert.pem'), '--tls-key', join(dir, 'key.pem')] });
    try {
      assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const status = await new Promise<number>((resolve, reject) => {
        https
          .get(`${server.url}/healthz`, { ca: readFileSync(join(dir, 'cert.pem')) }, (res) => resolve(res.statusCode ?? 0))
          .on('error', reject);
      });
      assert.equal(status, 200);
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    const half = await runCli(SIGIL_CLI, ['serve', '--tls-cert', 'x.pem', '--data-dir', store.dataDir]);
    assert.notEqual(half.code, 0);
    assert.match(half.stderr, /--tls-cert and --tls-key go together/);
  });

  test('bad arguments fail with a message, not a stack trace', async () => {
    const noName = await sigil('apikey', 'create');
    assert.notEqual(noName.code, 0);
    assert.match(noName.stderr, /--name/);
    const badRevoke = await sigil('apikey', 'revoke', 'nope');
    assert.notEqual(badRevoke.code, 0);
    assert.match(badRevoke.stderr, /no API key nope/);
    assert.doesNotMatch(badRevoke.stderr, /at .*\.js:\d+/);
    const badPort = await runCli(SIGIL_CLI, ['serve', '--port', 'eighty']);
    assert.notEqual(badPort.code, 0);
    assert.match(badPort.stderr, /invalid port/);
  });
});
