/** `sigil webhook …`: manage webhook endpoints straight in the store (like `sigil apikey`). */
import { InvalidArgumentError, type Command, type Option } from 'commander';
import type { Settings } from '../config.js';
import type { Database } from '../storage/database.js';
import { defaultTenant, getTenant, testModeTenant } from '../tenants/tenants.js';
import { createEndpoint, endpointTenants, listEndpoints, WEBHOOK_EVENT_TYPES } from './endpoints.js';

export type WithStore = <T>(dataDir: string, fn: (db: Database, settings: Readonly<Settings>) => Promise<T>) => Promise<T>;

export function registerWebhookCommands(program: Command, withStore: WithStore, dataDirOption: () => Option): void {
  const webhook = program.command('webhook').description('manage webhook endpoints');
  webhook
    .command('add <url>')
    .description('register a webhook endpoint; its signing secret is printed once, alone on the last line')
    .option('--events <types>', `comma-separated event types (default: all of ${WEBHOOK_EVENT_TYPES.join(', ')})`)
    .option('--description <text>', 'what the endpoint is for')
    .option('--tenant <id>', 'organisation (default: the first one)')
    .option('--test', "register it in the organisation's test mode (it receives only test-mode events)")
    .addOption(dataDirOption())
    .action(async (url: string, opts: { events?: string; description?: string; tenant?: string; test?: boolean; dataDir: string }) => {
      const events =
        opts.events === undefined
          ? null
          : opts.events
              .split(',')
              .map((e) => e.trim())
              .filter(Boolean);
      await withStore(opts.dataDir, async (db, settings) => {
        const organisation = opts.tenant ? await getTenant(db, opts.tenant) : await defaultTenant(db);
        if (!organisation)
          throw new InvalidArgumentError(
            opts.tenant ? `no organisation ${opts.tenant}` : 'the store has no organisation yet; run sigil serve once',
          );
        const tenant = opts.test ? await testModeTenant(db, organisation.live_tenant_id ?? organisation.id) : organisation;
        const { allowPrivate } = settings.webhooks;
        const { endpoint, secret } = await createEndpoint(
          db,
          tenant.id,
          { url, events, description: opts.description ?? null },
          { allowPrivate },
          { via: 'cli' },
          Date.now(),
        );
        process.stdout.write(
          `Created webhook endpoint ${endpoint.id} for ${tenant.name} (${tenant.id})\n` +
            `  URL: ${endpoint.url}\n  Events: ${endpoint.events ? endpoint.events.join(', ') : 'all'}\n` +
            `Signing secret (shown once; keep it secret):\n${secret}\n`,
        );
      });
    });
  webhook
    .command('list')
    .description('list webhook endpoints (never their secrets)')
    .addOption(dataDirOption())
    .action(async (opts: { dataDir: string }) => {
      await withStore(opts.dataDir, async (db) => {
        const tenantOf = await endpointTenants(db);
        for (const e of await listEndpoints(db, null, Date.now())) {
          const state = e.enabled ? 'enabled' : `disabled (${e.disabled_reason ?? 'unknown'})`;
          process.stdout.write(
            `${e.id}  ${state}  events=${e.events ? e.events.join(',') : 'all'}  tenant=${tenantOf.get(e.id)}  ${e.url}\n`,
          );
        }
      });
    });
}
