// docs/notifications.md and the README say what the code does: every setting, its default, the
// retry schedule, the titles and the log's states.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DEFAULT_NOTIFY_RETRY_SCHEDULE_MS, DEFAULT_REMINDER_AT } from '../../src/notifications/config.js';
import { notificationContent } from '../../src/notifications/content.js';
import type { NotificationKind } from '../../src/notifications/outbox.js';

const read = (path: string) => readFileSync(new URL(path, import.meta.url), 'utf8');
const doc = read('../../../../docs/notifications.md');
const readme = read('../../../../README.md');
const configSource = read('../../src/notifications/config.ts');
const migration = read('../../migrations/007_notifications.sql');

test('every notification setting read from the environment is in the README and in docs/notifications.md', () => {
  const vars = [...new Set([...configSource.matchAll(/env\.(SIGIL_[A-Z_]+)/g)].map((m) => m[1]!))];
  assert.ok(vars.length >= 4, vars.join());
  for (const name of vars) {
    assert.match(readme, new RegExp(`^\\| .* \\| \`${name}[=\` ]`, 'm'), `README lists ${name}`);
    assert.match(doc, new RegExp(`^\\| .* \\| \`${name}\` \\|`, 'm'), `docs/notifications.md lists ${name}`);
  }
  assert.match(doc, new RegExp(`\\| \`SIGIL_NOTIFY_REMINDER_AT\` \\| \`${DEFAULT_REMINDER_AT}\` \\|`));
  assert.match(readme, new RegExp(`\\| \`SIGIL_NOTIFY_REMINDER_AT\` \\| \`${DEFAULT_REMINDER_AT}\` \\|`));
});

test('the documented retry schedule is the code’s', () => {
  const text = (ms: number) => (ms < 60_000 ? `${ms / 1000} s` : ms < 3_600_000 ? `${ms / 60_000} min` : `${ms / 3_600_000} h`);
  const listed = DEFAULT_NOTIFY_RETRY_SCHEDULE_MS.map(text);
  const sentence = `${listed.slice(0, -1).join(', ')} and ${listed.at(-1)}`;
  assert.ok(doc.replace(/\s+/g, ' ').includes(`retried after ${sentence}`), `docs say: retried after ${sentence}`);
});

test('the documented titles are the ones sent', () => {
  for (const kind of ['created', 'reminder', 'approved', 'rejected', 'timeout', 'cancelled'] as NotificationKind[]) {
    const { title } = notificationContent(
      { kind, orgName: 'Acme Corp', description: 'x', requestId: '0', content: 'full' },
      'https://example.test',
    );
    assert.ok(doc.includes(`\`${title}\``), `docs/notifications.md shows "${title}"`);
  }
});

test('the documented states of the log are the schema’s', () => {
  const states = /status text NOT NULL DEFAULT 'queued' CHECK \(status IN \(([^)]+)\)\)/
    .exec(migration)![1]!
    .match(/'[a-z_]+'/g)!
    .map((s) => s.slice(1, -1));
  assert.deepEqual(states, ['queued', 'sent', 'delivered', 'failed']);
  for (const state of states) assert.match(doc, new RegExp(`^\\| \`${state}\` \\| \\w`, 'm'), `docs/notifications.md explains ${state}`);
});
