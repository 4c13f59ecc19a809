#!/usr/bin/env node
import { createInterface } from 'node:readline/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { registerAuditCommands } from './audit/cli.js';
import { DEFAULTS, loadSettings, parseOrgName, type SettingFlags, type Settings } from './config.js';
import { registerDeviceCommands } from './devices/cli.js';
import { registerGovernanceCommands } from './governance/cli.js';
import { defaultLogging } from './http/log-output.js';
import type { Database } from './storage/database.js';
import { openStorage } from './storage/open.js';
import { createApiKey, listApiKeys, revokeApiKey } from './tenants/api-keys.js';
import { createTenant, defaultTenant, getTenant } from './tenants/tenants.js';
import { VERSION } from './version.js';
import { registerTeamCommands } from './teams/cli.js';
import { registerWebhookCommands } from './webhooks/cli.js';

const program = new Command('sigil').description('Sigil multi-party approval server').version(VERSION);

/** The one place the environment is read: every setting, checked, before a command does anything. */
const settingsFrom = (flags: SettingFlags): Readonly<Settings> => loadSettings(process.env, flags);
const dataDirOption = () =>
  new Option('--data-dir <dir>', 'embedded store directory (ignored when DATABASE_URL is set)').default(DEFAULTS.dataDir);

program
  .command('serve')
  .description('run the HTTP service')
  .option('--host <host>', `address to listen on (default: "${DEFAULTS.host}")`)
  .option('--port <port>', `port to listen on, 0: any free port (SIGIL_PORT; default: ${DEFAULTS.port})`)
  .addOption(dataDirOption())
  .option('--tls-cert <file>', 'PEM certificate chain; serve HTTPS')
  .option('--tls-key <file>', 'PEM private key for --tls-cert')
  .option('--org-name <name>', 'organisation name approvers see (SIGIL_ORG_NAME; asked on first start in a terminal, else "Sigil")')
  .option('--log-level <level>', 'pino log level (SIGIL_LOG_LEVEL; default: warn on a terminal, info otherwise)')
  .option('--log-format <format>', 'json, or pretty: readable lines (SIGIL_LOG_FORMAT; default: pretty on a terminal, json otherwise)')
  .option('--metrics-port <port>', 'serve /metrics only on this separate port (0: any free port), not on --port (SIGIL_METRICS_PORT)')
  .option('--metrics-host <host>', `address of the --metrics-port listener (SIGIL_METRICS_HOST; default ${DEFAULTS.metricsHost})`)
  .action(async (flags: SettingFlags) => {
    const settings = settingsFrom(flags);
    const terminal = Boolean(process.stdin.isTTY && process.stdout.isTTY);
    const logging = defaultLogging(Boolean(process.stdout.isTTY));
    // The store starts first (the embedded one on its own thread), then the HTTP stack loads
    // while it does: start-up takes the longer of the two, not their sum.
    const opening = openStorage({
      databaseUrl: settings.databaseUrl,
      dataDir: settings.dataDir,
      poolSize: settings.dbPoolSize,
      pgliteTemplate: settings.pgliteTemplate,
    });
    opening.catch(() => {}); // reported by startServer, which awaits it
    const { startServer } = await import('./server.js');
    const server = await startServer(
      {
        ...settings,
        logLevel: settings.logLevel ?? logging.level,
        logFormat: settings.logFormat ?? logging.format,
        ...(terminal ? { askOrgName } : {}),
      },
      opening,
    );
    const lines = [
      `Sigil ${VERSION} is running at ${server.url}`,
      `Storage: ${settings.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : `embedded, in ${settings.dataDir}`}`,
      `Server ID: ${server.identity.serverId}`,
      `Server pictogram: ${server.identity.pictogram.text}  (${server.identity.pictogram.names.join(', ')})`,
    ];
    lines.push(
      server.publicOrigin
        ? `Web approver: ${server.publicOrigin}/approve   Console: ${server.publicOrigin}/console`
        : 'Web approver and console: off (set SIGIL_PUBLIC_URL to the https:// URL browsers use)',
    );
    if (server.metricsUrl) lines.push(`Metrics: ${server.metricsUrl}/metrics`);
    if (server.firstApiKey) lines.push('First API key (shown once; keep it secret):', `  ${server.firstApiKey}`);
    process.stdout.write(`${lines.join('\n')}\n`);
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      server.app.log.info({ signal }, 'shutting down');
      server.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });

/** On the first start in a terminal: the organisation's name, as approvers will see it. */
async function askOrgName(): Promise<string | undefined> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await rl.question('Organisation name approvers will see (Enter for "Sigil"; change it later with --org-name): ');
    return parseOrgName(answer);
  } finally {
    rl.close();
  }
}

/** Opens the configured store for one command; two connections are plenty for it. */
async function withStore<T>(dataDir: string, fn: (db: Database, settings: Readonly<Settings>) => Promise<T>): Promise<T> {
  const settings = settingsFrom({ dataDir });
  const db = await openStorage({
    databaseUrl: settings.databaseUrl,
    dataDir: settings.dataDir,
    poolSize: 2,
    pgliteTemplate: settings.pgliteTemplate,
  });
  try {
    return await fn(db, settings);
  } finally {
    await db.close();
  }
}

const apikey = program.command('apikey').description('manage API keys');
apikey
  .command('create')
  .description('create an API key; the key is printed once, alone on the last line')
  .requiredOption('--name <name>', 'what the key is for')
  .option('--test', "make an sgk_test_ key: it acts only in the organisation's test mode")
  .option('--tenant <id>', 'organisation the key belongs to (default: the first one)')
  .option('--new-org <name>', 'create a new organisation for this key')
  .addOption(dataDirOption())
  .action(async (opts: { name: string; test?: boolean; tenant?: string; newOrg?: string; dataDir: string }) => {
    await withStore(opts.dataDir, async (db, settings) => {
      const tenant = opts.newOrg
        ? await createTenant(db, opts.newOrg)
        : opts.tenant
          ? await getTenant(db, opts.tenant)
          : ((await defaultTenant(db)) ?? (await createTenant(db, settings.orgName ?? 'Sigil')));
      if (!tenant) throw new InvalidArgumentError(`no organisation ${opts.tenant}`);
      const { key, record } = await createApiKey(db, tenant.id, opts.name, opts.test ? 'test' : 'live');
      const mode = opts.test ? ' in test mode (it sees only test-mode objects)' : '';
      process.stdout.write(`Created API key ${record.id} "${record.name}" for ${tenant.name} (${record.tenant_id})${mode}\n${key}\n`);
    });
  });
apikey
  .command('list')
  .description('list API keys (never the keys themselves)')
  .addOption(dataDirOption())
  .action(async (opts: { dataDir: string }) => {
    await withStore(opts.dataDir, async (db) => {
      for (const k of await listApiKeys(db)) {
        const state = k.revoked_at ? `revoked ${k.revoked_at.toISOString()}` : 'active';
        process.stdout.write(`${k.id}  ${k.prefix}…  ${k.mode}  ${state}  tenant=${k.tenant_id}  ${k.name}\n`);
      }
    });
  });
apikey
  .command('revoke <id>')
  .description('revoke an API key at once')
  .addOption(dataDirOption())
  .action(async (id: string, opts: { dataDir: string }) => {
    await withStore(opts.dataDir, async (db) => {
      if (!/^[0-9a-f-]{36}$/.test(id) || !(await revokeApiKey(db, id))) throw new InvalidArgumentError(`no API key ${id}`);
      process.stdout.write(`Revoked API key ${id}\n`);
    });
  });

registerDeviceCommands(program, withStore, dataDirOption);
registerTeamCommands(program, withStore, dataDirOption);
registerWebhookCommands(program, withStore, dataDirOption);
registerGovernanceCommands(program, withStore, dataDirOption);
registerAuditCommands(program, withStore, dataDirOption);

program.parseAsync().catch((err: Error) => {
  process.stderr.write(`sigil: ${err.message}\n`);
  process.exit(1);
});
