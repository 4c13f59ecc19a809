import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { SigilAuth, SigilConfigError, SigilError } from '../src/index.js';
import { isLoopbackHost } from '../src/client.js';
import { sendJson, startFakeServer } from './fake-server.js';

const KEY = 'sgk_test_' + 'a'.repeat(64);

describe('configuration', { timeout: 300_000 }, () => {
  test('a missing API key is a clear error', () => {
    const saved = process.env.SIGIL_API_KEY;
    delete process.env.SIGIL_API_KEY;
    try {
      for (const apiKey of [undefined, '']) {
        assert.throws(
          () => new SigilAuth({ serviceUrl: 'https://sigil.example.com', ...(apiKey === undefined ? {} : { apiKey }) }),
          (err: unknown) => {
            assert.ok(err instanceof SigilConfigError);
            assert.ok(err instanceof SigilError);
            assert.equal(err.code, 'missing_api_key');
            assert.match(err.message, /SIGIL_API_KEY/);
            return true;
          },
        );
      }
    } finally {
      if (saved !== undefined) process.env.SIGIL_API_KEY = saved;
    }
  });

  test('the API key defaults to SIGIL_API_KEY and is sent as a bearer token', async () => {
    const server = await startFakeServer((_req, res) => sendJson(res, 200, { data: [] }));
    after(() => server.close());
    const saved = process.env.SIGIL_API_KEY;
    process.env.SIGIL_API_KEY = 'sgk_test_from_env';
    try {
      const fromEnv = new SigilAuth({ serviceUrl: server.url });
      assert.deepEqual(await fromEnv.devices.list(), []);
      const explicit = new SigilAuth({ serviceUrl: server.url, apiKey: KEY });
      await explicit.devices.list();
    } finally {
      if (saved === undefined) delete process.env.SIGIL_API_KEY;
      else process.env.SIGIL_API_KEY = saved;
    }
    assert.equal(server.requests.length, 2);
    assert.equal(server.requests[0]!.headers.authorization, 'Bearer sgk_test_from_env');
    assert.equal(server.requests[1]!.headers.authorization, `Bearer ${KEY}`);
    assert.equal(server.requests[1]!.headers.accept, 'application/json');
    assert.match(server.requests[1]!.headers['user-agent'] ?? '', /^sigil-sdk-node\//);
  });

  test('the API key is not exposed on the client object', () => {
    const sigil = new SigilAuth({ serviceUrl: 'https://sigil.example.com', apiKey: KEY });
    assert.ok(!JSON.stringify(sigil).includes(KEY));
    assert.ok(!Object.values(sigil).some((v) => v === KEY));
  });

  test('plain http is refused except to loopback hosts', () => {
    for (const serviceUrl of [
      'http://sigil.example.com',
      'http://10.0.0.1:8080',
      'http://[::2]',
      'http://128.0.0.1',
      'http://localhost.example.com',
    ]) {
      assert.throws(
        () => new SigilAuth({ serviceUrl, apiKey: KEY }),
        (err: unknown) => err instanceof SigilConfigError && err.code === 'insecure_service_url' && /https/.test(err.message),
        serviceUrl,
      );
    }
    for (const serviceUrl of [
      'http://localhost:3000',
      'http://LOCALHOST',
      'http://127.0.0.1:1',
      'http://127.255.0.9',
      'http://[::1]:8080',
      'https://sigil.example.com',
      'https://10.0.0.1',
    ]) {
      assert.doesNotThrow(() => new SigilAuth({ serviceUrl, apiKey: KEY }), serviceUrl);
    }
    assert.ok(isLoopbackHost('127.0.0.1') && isLoopbackHost('[::1]') && !isLoopbackHost('::2'));
  });

  test('malformed service URLs and options are refused', () => {
    for (const serviceUrl of [
      '',
      'sigil.example.com',
      'ftp://sigil.example.com',
      'https://user:pw@sigil.example.com',
      'https://sigil.example.com/?a=1',
    ]) {
      assert.throws(() => new SigilAuth({ serviceUrl, apiKey: KEY }), SigilConfigError, serviceUrl);
    }
    assert.throws(() => new SigilAuth({ serviceUrl: 'https://s.example', apiKey: 'sgk bad' }), SigilConfigError);
    assert.throws(() => new SigilAuth({ serviceUrl: 'https://s.example', apiKey: KEY, maxRetries: -1 }), SigilConfigError);
    assert.throws(() => new SigilAuth({ serviceUrl: 'https://s.example', apiKey: KEY, timeoutMs: 0 }), SigilConfigError);
  });

  test('a path prefix in serviceUrl is kept and a trailing slash dropped', async () => {
    const server = await startFakeServer((_req, res) => sendJson(res, 200, { data: [] }));
    after(() => server.close());
    const sigil = new SigilAuth({ serviceUrl: `${server.url}/sigil/`, apiKey: KEY });
    assert.equal(sigil.serviceUrl, `${server.url}/sigil`);
    await sigil.devices.list();
    assert.equal(server.requests[0]!.url, '/sigil/v1/devices');
  });
});
