import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULTS, loadSettings, SETTINGS } from '../src/config.js';

const README = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
const SRC = fileURLToPath(new URL('../src/', import.meta.url));

/** The rows of the README's configuration table: [setting, flag / variable, default]. */
function configurationTable(): string[][] {
  const section = README.slice(README.indexOf('## Configuration'));
  const rows = section
    .slice(0, section.indexOf('\n\n', section.indexOf('| ---')))
    .split('\n')
    .filter((l) => l.startsWith('|'));
  return rows.slice(2).map((row) =>
    row
      .slice(1, -1)
      .split(' | ')
      .map((cell) => cell.trim()),
  );
}
const namesIn = (text: string) => new Set(text.match(/--[a-z-]+|SIGIL_[A-Z_]+|DATABASE_URL/g) ?? []);

test('the README configuration table lists exactly the settings the server reads, with their defaults', () => {
  const table = configurationTable();
  const documented = new Set(table.flatMap(([, names]) => [...namesIn(names!)]));
  const declared = new Set(SETTINGS.flatMap((s) => [s.flag, s.env].filter((n): n is string => n !== undefined)));
  assert.deepEqual([...documented].sort(), [...declared].sort());
  for (const spec of SETTINGS) {
    const name = spec.env ?? spec.flag!;
    const row = table.find(([, names]) => namesIn(names!).has(name));
    assert.ok(row, `a README row for ${name}`);
    assert.ok(
      row[2]!.startsWith(spec.documentedDefault),
      `README default of ${name}: "${row[2]}" should start with "${spec.documentedDefault}"`,
    );
  }
});

test('every variable and serve flag the code reads is declared in SETTINGS', () => {
  const config = readFileSync(join(SRC, 'config.ts'), 'utf8');
  const read = new Set([...config.matchAll(/given\('([A-Z_]+)'\)/g)].map((m) => m[1]!));
  const cli = readFileSync(join(SRC, 'cli.ts'), 'utf8');
  const serve = cli.slice(cli.indexOf(".command('serve')"), cli.indexOf('.action(', cli.indexOf(".command('serve')")));
  const flags = new Set([...serve.matchAll(/'(--[a-z-]+) </g)].map((m) => m[1]!));
  flags.add('--data-dir');
  assert.deepEqual([...read].sort(), SETTINGS.flatMap((s) => (s.env ? [s.env] : [])).sort());
  assert.deepEqual([...flags].sort(), SETTINGS.flatMap((s) => (s.flag ? [s.flag] : [])).sort());
});

test('only the command line reads the environment', () => {
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
    );
  const readers = files(SRC)
    .filter((f) => /process\.env/.test(readFileSync(f, 'utf8')))
    .map((f) => f.slice(SRC.length));
  assert.deepEqual(readers, ['cli.ts']);
});

test('defaults when nothing is set, and the result is frozen', () => {
  const s = loadSettings({});
  assert.equal(s.port, DEFAULTS.port);
  assert.equal(s.dbPoolSize, 10);
  assert.equal(s.databaseUrl, undefined);
  assert.equal(s.maxPendingPerDevice, 100);
  assert.equal(s.historyRetention.days, 90);
  assert.equal(s.trustProxy, false);
  assert.equal(s.metrics.refreshIntervalMs, 15_000);
  assert.equal(s.pgliteTemplate, true);
  assert.ok(Object.isFrozen(s) && Object.isFrozen(s.metrics) && Object.isFrozen(s.webhooks));
  assert.throws(() => ((s as { port: number }).port = 1), TypeError);
});

test('flags win over the environment, which wins over the defaults', () => {
  assert.equal(loadSettings({ SIGIL_PORT: '9000' }).port, 9000);
  assert.equal(loadSettings({ SIGIL_PORT: '9000' }, { port: '9001' }).port, 9001);
  assert.equal(loadSettings({ SIGIL_LOG_LEVEL: 'warn' }).logLevel, 'warn');
  assert.equal(loadSettings({ SIGIL_DB_POOL_SIZE: '25', SIGIL_WEBHOOK_ALLOW_PRIVATE: 'true' }).dbPoolSize, 25);
  assert.deepEqual(loadSettings({ SIGIL_WEBHOOK_RETRY_SCHEDULE_MS: '10, 20' }).webhooks.retryScheduleMs, [10, 20]);
  assert.equal(loadSettings({ SIGIL_HISTORY_RETENTION_DAYS: '0' }).historyRetention.days, 0);
  assert.equal(loadSettings({ SIGIL_HISTORY_RETENTION_DAYS: '400' }).historyRetention.days, 400);
});

test('a bad value is refused with a message that names the setting', () => {
  const bad: Array<[Record<string, string>, RegExp]> = [
    [{ SIGIL_DB_POOL_SIZE: 'ten' }, /SIGIL_DB_POOL_SIZE.*integer from 1 to 1000/],
    [{ SIGIL_DB_POOL_SIZE: '0' }, /SIGIL_DB_POOL_SIZE/],
    [{ SIGIL_DB_POOL_SIZE: '2.5' }, /SIGIL_DB_POOL_SIZE/],
    [{ SIGIL_PORT: 'eighty' }, /SIGIL_PORT.*invalid port/],
    [{ SIGIL_PAIRING_RATE_LIMIT: '-1' }, /SIGIL_PAIRING_RATE_LIMIT/],
    [{ SIGIL_MAX_PENDING_PER_DEVICE: '100001' }, /SIGIL_MAX_PENDING_PER_DEVICE/],
    [{ SIGIL_HISTORY_RETENTION_DAYS: '90d' }, /SIGIL_HISTORY_RETENTION_DAYS.*integer from 0 to 36500/],
    [{ SIGIL_HISTORY_RETENTION_DAYS: '-1' }, /SIGIL_HISTORY_RETENTION_DAYS/],
    [{ SIGIL_LOG_LEVEL: 'loud' }, /SIGIL_LOG_LEVEL/],
    [{ SIGIL_TRUST_PROXY: 'true' }, /SIGIL_TRUST_PROXY/],
    [{ SIGIL_METRICS_TOKEN: 'short' }, /SIGIL_METRICS_TOKEN must be at least 16 characters/],
    [{ SIGIL_METRICS_HOST: '10.0.0.1' }, /SIGIL_METRICS_HOST.*needs.*SIGIL_METRICS_PORT/],
    [{ SIGIL_METRICS_REFRESH_SECONDS: '0' }, /SIGIL_METRICS_REFRESH_SECONDS/],
    [{ SIGIL_WEBHOOK_ALLOW_PRIVATE: 'maybe' }, /SIGIL_WEBHOOK_ALLOW_PRIVATE/],
    [{ SIGIL_WEBHOOK_RETRY_SCHEDULE_MS: '1,x' }, /SIGIL_WEBHOOK_RETRY_SCHEDULE_MS/],
    [{ SIGIL_WEBHOOK_TIMEOUT_MS: '0' }, /SIGIL_WEBHOOK_TIMEOUT_MS/],
    [{ SIGIL_ATTESTATION_REQUIRED: 'sometimes' }, /SIGIL_ATTESTATION_REQUIRED/],
    [{ SIGIL_PUBLIC_URL: 'ftp://x' }, /SIGIL_PUBLIC_URL/],
    [{ SIGIL_PUBLIC_URL: 'https://sigil.example.com', SIGIL_RP_ID: 'other.com' }, /SIGIL_RP_ID/],
    [{ SIGIL_PGLITE_TEMPLATE: 'no' }, /SIGIL_PGLITE_TEMPLATE/],
  ];
  for (const [env, message] of bad) assert.throws(() => loadSettings(env), message, JSON.stringify(env));
  assert.throws(() => loadSettings({}, { tlsCert: 'cert.pem' }), /--tls-cert and --tls-key go together/);
});
