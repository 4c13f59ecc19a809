#!/usr/bin/env node
import { createInterface } from 'node:readline/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { registerAuditCommands } from './audit/cli.js';
import { DEFAULTS, parsePort } from './config.js';
import { registerDeviceCommands } from './devices/cli.js';
import { defaultLogging, LOG_FORMATS, type LogFormat } from './http/log-output.js';
import { startServer } from './server.js';
import { openStorage } from './storage/open.js';
import { createApiKey, listApiKeys, revokeApiKey } from './tenants/api-keys.js';
import { createTenant, defaultTenant, getTenant } from './tenants/tenants.js';
import { VERSION } from './version.js';
import { registerWebhookCommands } from './webhooks/cli.js';

const program = new Command('sigil').description('Sigil multi-party approval server').version(VERSION);

const port = (v: string) => {
  try {
    return parsePort(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
};
// An empty value (SIGIL_ORG_NAME= in a shell) counts as unset.
const orgName = (v: string) => {
  const name = v.trim();
  if (name.length > 100) throw new InvalidArgumentError('the organisation name must be at most 100 characters');
  return name === '' ? undefined : name;
};
const logFormat = (v: string) => {
  if (v === '') return undefined;
  if (!(LOG_FORMATS as readonly string[]).includes(v)) throw new InvalidArgumentError(`choose one of ${LOG_FORMATS.join(', ')}`);
  return v as LogFormat;
};
const dataDirOption = () => new Option('--data-dir <dir>', 'embedded store directory (ignored when DATABASE_URL is set)').default(DEFAULTS.dataDir);

program
  .command('serve')
  .description('run the HTTP service')
  .option('--host <host>', 'address to listen on', DEFAULTS.host)
  .addOption(new Option('--port <port>', 'port to listen on (0: any free port)').env('SIGIL_PORT').default(DEFAULTS.port).argParser(port))
  .addOption(dataDirOption())
  .option('--tls-cert <file>', 'PEM certificate chain; serve HTTPS')
  .option('--tls-key <file>', 'PEM private key for --tls-cert')
  .addOption(new Option('--org-name <name>', 'organisation name approvers see (asked on first start in a terminal; default Sigil)').env('SIGIL_ORG_NAME').argParser(orgName))
  .addOption(new Option('--log-level <level>', 'pino log level (default: warn on a terminal, info otherwise)').env('SIGIL_LOG_LEVEL'))
  .addOption(new Option('--log-format <format>', 'json, or pretty: readable lines (default: pretty on a terminal, json otherwise)').env('SIGIL_LOG_FORMAT').argParser(logFormat))
  .addOption(new Option('--metrics-port <port>', 'serve /metrics only on this separate port (0: any free port), not on --port').env('SIGIL_METRICS_PORT').argParser(port))
  .addOption(new Option('--metrics-host <host>', 'address of the --metrics-port listener (default 127.0.0.1)').env('SIGIL_METRICS_HOST'))
  .action(async (opts: ServeOptions) => {
    if (Boolean(opts.tlsCert) !== Boolean(opts.tlsKey)) throw new InvalidArgumentError('--tls-cert and --tls-key go together');
    const { metricsPort, metricsHost, orgName, logLevel, logFormat, ...serveOpts } = opts;
    const terminal = Boolean(process.stdin.isTTY && process.stdout.isTTY);
    const logging = defaultLogging(Boolean(process.stdout.isTTY));
    const server = await startServer({
      ...serveOpts,
      logLevel: logLevel || logging.level,
      logFormat: logFormat || logging.format,
      orgName: orgName || undefined,
      ...(terminal ? { askOrgName: askOrgName } : {}),
      metrics: { ...(metricsPort !== undefined ? { port: metricsPort } : {}), ...(metricsHost !== undefined ? { host: metricsHost } : {}) },
      databaseUrl: process.env.DATABASE_URL,
      dbPoolSize: process.env.SIGIL_DB_POOL_SIZE ? Number(process.env.SIGIL_DB_POOL_SIZE) : 10,
      ...(process.env.SIGIL_PAIRING_RATE_LIMIT ? { pairingRateLimit: Number(process.env.SIGIL_PAIRING_RATE_LIMIT) } : {}),
    });
    const lines = [
      `Sigil ${VERSION} is running at ${server.url}`,
      `Storage: ${process.env.DATABASE_URL ? 'PostgreSQL (DATABASE_URL)' : `embedded, in ${opts.dataDir}`}`,
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

interface ServeOptions {
  host: string;
  port: number;
  dataDir: string;
  tlsCert?: string;
  tlsKey?: string;
  orgName?: string;
  logLevel?: string;
  logFormat?: LogFormat;
  metricsPort?: number;
  metricsHost?: string;
}

/** On the first start in a terminal: the organisation's name, as approvers will see it. */
async function askOrgName(): Promise<string | undefined> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await rl.question('Organisation name approvers will see (Enter for "Sigil"; change it later with --org-name): ');
    return orgName(answer);
  } finally {
    rl.close();
  }
}

async function withStore<T>(dataDir: string, fn: (db: Awaited<ReturnType<typeof openStorage>>) => Promise<T>): Promise<T> {
  const db = await openStorage({ databaseUrl: process.env.DATABASE_URL, dataDir, poolSize: 2 });
  try {
    return await fn(db);
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
    await withStore(opts.dataDir, async (db) => {
      const tenant = opts.newOrg
        ? await createTenant(db, opts.newOrg)
        : opts.tenant
          ? await getTenant(db, opts.tenant)
          : ((await defaultTenant(db)) ?? (await createTenant(db, process.env.SIGIL_ORG_NAME ?? 'Sigil')));
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
registerWebhookCommands(program, withStore, dataDirOption);
registerAuditCommands(program, withStore, dataDirOption);

program.parseAsync().catch((err: Error) => {
  process.stderr.write(`sigil: ${err.message}\n`);
  process.exit(1);
});
