// Attack: read secrets out of the server's logs. A log pipeline is read by more people and kept
// longer than the database; a secret in it has leaked. The real `sigil serve` runs at log level
// trace through a scenario full of secrets and errors: API keys in query strings and paths, a
// pairing code, a session cookie, webhook secrets, and a database error while a webhook is being
// created (whose rolled-back row holds a freshly generated whsec_ secret). No log line may carry
// any of them, nor a database error's parameters or failing row.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { openStorage } from '../../src/storage/open.js';
import { Api } from '../../../../test/support/api.js';
import { TestDevice } from '../../../../test/support/device-keys.js';
import { startSigil, type SigilProcess } from '../../../../test/support/processes.js';
import { createStore, describeEachStore, type TestStore } from '../../../../test/support/stores.js';
import { waitFor } from '../../../../test/support/wait.js';
import { Receiver } from '../../../../test/support/webhook-receiver.js';

/** A description the store is made to refuse, so that creating a webhook fails inside the database. */
const POISON = 'make the database refuse this row';

describeEachStore('secrets never reach the logs', (kind) => {
  let store: TestStore;
  let sigil: SigilProcess;
  let receiver: Receiver;

  before(async () => {
    store = await createStore(kind);
    // A fault the application does not expect: the store refuses one particular webhook row.
    const db = await openStorage({ dataDir: store.dataDir, databaseUrl: store.databaseUrl, poolSize: 1 });
    try {
      await db.query(`ALTER TABLE webhook_endpoints ADD CONSTRAINT injected_fault CHECK (description IS DISTINCT FROM '${POISON}')`);
    } finally {
      await db.close();
    }
    receiver = await Receiver.start();
    sigil = await startSigil(store, { SIGIL_LOG_LEVEL: 'trace', SIGIL_WEBHOOK_ALLOW_PRIVATE: 'true' });
  });
  after(async () => {
    await sigil?.stop();
    await receiver?.close();
    await store?.dispose();
  });

  test('a scenario of errors logs none of the secrets it handles', async () => {
    const key = sigil.apiKey!;
    const api = new Api(sigil.url, key);
    const secrets: Record<string, string> = { 'API key': key, 'API key digits': key.slice(9) };

    // Secrets in query strings and paths, on routes that exist and routes that do not.
    assert.equal((await api.get(`/v1/devices?api_key=${key}`)).status, 200);
    assert.equal((await api.get(`/v1/nothing/${key}?token=${key}`)).status, 404);
    assert.equal((await api.withKey(`${key.slice(0, -1)}${key.endsWith('0') ? '1' : '0'}`).get('/v1/devices')).status, 401);

    // A pairing code, used wrongly and rightly.
    const pairing = await api.post('/v1/pairings', { name: 'Laptop' });
    assert.equal(pairing.status, 201);
    secrets['pairing code'] = pairing.body.code;
    const device = new TestDevice('Laptop');
    const forged = device.pairingBody(pairing.body.server_id, pairing.body.code);
    assert.equal(
      (
        await api
          .withKey(null)
          .post('/v1/pairings/complete', { ...forged, signature: forged.signature.replace(/^./, (c: string) => (c === 'A' ? 'B' : 'A')) })
      ).status,
      401,
    );
    assert.equal((await api.get(`/v1/pairings/${pairing.body.pairing_id}?code=${pairing.body.code}`)).status, 200);
    assert.equal(
      (await api.withKey(null).post('/v1/pairings/complete', device.pairingBody(pairing.body.server_id, pairing.body.code))).status,
      200,
    );

    // A session cookie that is not a session.
    const session = randomBytes(32).toString('base64url');
    secrets['session cookie'] = session;
    assert.equal(
      (await api.withKey(null).request('GET', '/approve/api/me', undefined, { cookie: `sigil_approver=${session}` })).status,
      401,
    );

    // A webhook created for real (its secret must never be logged) and one the database refuses.
    const hook = await api.post('/v1/webhooks', { url: receiver.url, description: 'ok' });
    assert.equal(hook.status, 201);
    secrets['webhook secret'] = hook.body.secret;
    const rotated = await api.post(`/v1/webhooks/${hook.body.id}/rotate-secret`);
    assert.equal(rotated.status, 200);
    secrets['rotated webhook secret'] = rotated.body.secret;
    const failed = await api.post('/v1/webhooks', { url: receiver.url, description: POISON });
    assert.equal(failed.status, 500, 'the injected fault fails the insert');
    assert.deepEqual(
      failed.body,
      { error: { code: 'internal_error', message: 'internal server error' } },
      'the client learns nothing of the row either',
    );

    // The scenario happened, and was logged: wait for the error line and the last request's line.
    // Log lines are the JSON ones; the banner (which shows the first API key once, by design) is not a log line.
    const logLines = () =>
      sigil
        .output()
        .split('\n')
        .filter((line) => line.startsWith('{'));
    const logs = await waitFor(() => {
      const out = logLines().join('\n');
      return /"unhandled error"/.test(out) && /"code":"23514"/.test(out) && /"statusCode":500/.test(out) ? out : null;
    }, 'the database error to be logged');
    assert.ok(
      logLines().every((line) => JSON.parse(line)),
      'every log line is JSON',
    );
    assert.match(logs, /"url":"\/v1\/devices"/, 'requests are logged, by path');

    for (const [what, secret] of Object.entries(secrets)) assert.ok(!logs.includes(secret), `the ${what} appears in the logs`);
    assert.doesNotMatch(logs, /whsec_[A-Za-z0-9+/]/, 'a webhook secret (the rolled-back one included) appears in the logs');
    assert.doesNotMatch(logs, /sgk_(live|test)_[0-9a-f]/, 'an API key appears in the logs');
    assert.doesNotMatch(
      logs,
      /Failing row contains|"params"|"detail"|"internalQuery"/,
      "a database error's row or parameters appear in the logs",
    );
    assert.doesNotMatch(logs, /api_key=|token=|code=/, 'a query string appears in the logs');
  });
});
