import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findNotifySend, notifySend } from '../src/desktop-notify.js';
import { waitFor } from '../../../test/support/wait.js';

test('notify-send is found on PATH and given the texts as arguments, never through a shell', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-notify-send-'));
  try {
    assert.equal(findNotifySend(join(dir, 'missing')), null);
    const log = join(dir, 'calls');
    const script = join(dir, 'notify-send');
    // Written whole and then renamed, so the test never reads half a call.
    writeFileSync(script, `#!/bin/sh\nprintf '%s\\n' "$@" > '${log}.part' && mv '${log}.part' '${log}'\n`);
    chmodSync(script, 0o755);
    assert.equal(findNotifySend(`/nonexistent:${dir}`), script);
    const errors: string[] = [];
    notifySend(script, (m) => errors.push(m))('Acme Corp is requesting approval', `Deploy $(touch ${join(dir, 'pwned')}) now`);
    const lines = await waitFor(() => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : null), 'notify-send to run');
    assert.deepEqual(lines, ['--app-name=Sigil', '--', 'Acme Corp is requesting approval', `Deploy $(touch ${join(dir, 'pwned')}) now`]);
    assert.equal(existsSync(join(dir, 'pwned')), false);
    assert.deepEqual(errors, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
