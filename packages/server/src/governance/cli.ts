/** `sigil governance …`: an organisation's governance settings, straight in the store (docs/governance.md). */
import { InvalidArgumentError, type Command, type Option } from 'commander';
import type { AnomalySettings } from '@sigilauth/protocol/wire';
import type { Database } from '../storage/database.js';
import { defaultTenant, getTenant, testModeTenant } from '../tenants/tenants.js';
import type { WithStore } from '../webhooks/cli.js';
import { getGovernanceSettings, setDeviceTimeZone, updateGovernanceSettings } from './settings.js';

interface TenantOptions {
  tenant?: string;
  test?: boolean;
  dataDir: string;
}

async function tenantOf(db: Database, opts: TenantOptions) {
  const organisation = opts.tenant ? await getTenant(db, opts.tenant) : await defaultTenant(db);
  if (!organisation)
    throw new InvalidArgumentError(
      opts.tenant ? `no organisation ${opts.tenant}` : 'the store has no organisation yet; run sigil serve once',
    );
  return opts.test ? testModeTenant(db, organisation.live_tenant_id ?? organisation.id) : organisation;
}

const integer = (value: string) => {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number');
  return Number(value);
};
const batchSeconds = (value: string) => (value === 'off' ? ('off' as const) : integer(value));
const onOff = (value: string) => {
  if (value !== 'on' && value !== 'off') throw new InvalidArgumentError('expected on or off');
  return value === 'on';
};

export function registerGovernanceCommands(program: Command, withStore: WithStore, dataDirOption: () => Option): void {
  const governance = program
    .command('governance')
    .description("an organisation's governance settings: anomaly flags, time zones, timing privacy");
  const scoped = (command: Command) =>
    command
      .option('--tenant <id>', 'organisation (default: the first one)')
      .option('--test', "the organisation's test mode")
      .addOption(dataDirOption());

  scoped(governance.command('show').description('print the settings as JSON (as GET /v1/governance/settings answers)')).action(
    async (opts: TenantOptions) => {
      await withStore(opts.dataDir, async (db) => {
        const tenant = await tenantOf(db, opts);
        process.stdout.write(`${JSON.stringify(await getGovernanceSettings(db, tenant.id), null, 2)}\n`);
      });
    },
  );

  scoped(
    governance
      .command('set')
      .description('change some settings (checked as the API checks them; an audit entry names each change)')
      .option('--time-zone <zone>', 'IANA time zone of devices that set none')
      .option('--rubber-stamp-seconds <n>', 'flag approvals sooner than this after the request (0: never)', integer)
      .option('--burst-requests <n>', 'flag approvals by a device sent this many requests within --burst-minutes', integer)
      .option('--burst-minutes <n>', 'the window of --burst-requests', integer)
      .option('--new-hour-min-history <n>', 'approvals a device needs on record before a new hour is flagged', integer)
      .option('--require-extra-group <on|off>', 'a flagged approval raises the quorum by one group', onOff)
      .option('--batch-seconds <n|off>', 'timing privacy: release decisions at multiples of n seconds (off: at once)', batchSeconds)
      .option('--deny-immediately <on|off>', 'with --batch-seconds: a denial ends its request at once', onOff),
  ).action(
    async (
      opts: TenantOptions & {
        timeZone?: string;
        rubberStampSeconds?: number;
        burstRequests?: number;
        burstMinutes?: number;
        newHourMinHistory?: number;
        requireExtraGroup?: boolean;
        batchSeconds?: number | 'off';
        denyImmediately?: boolean;
      },
    ) => {
      const anomaly: Partial<AnomalySettings> = {
        rubber_stamp_seconds: opts.rubberStampSeconds,
        burst_requests: opts.burstRequests,
        burst_minutes: opts.burstMinutes,
        new_hour_min_history: opts.newHourMinHistory,
        flagged_approval_requires_extra_group: opts.requireExtraGroup,
      };
      await withStore(opts.dataDir, async (db) => {
        const tenant = await tenantOf(db, opts);
        const current = (await getGovernanceSettings(db, tenant.id)).decision_release;
        const batch = opts.batchSeconds ?? current?.batch_seconds;
        if (opts.denyImmediately !== undefined && (batch === undefined || batch === 'off'))
          throw new InvalidArgumentError('--deny-immediately needs --batch-seconds (decisions released in batches)');
        const decisionRelease =
          opts.batchSeconds === undefined && opts.denyImmediately === undefined
            ? undefined
            : batch === 'off' || batch === undefined
              ? null
              : { batch_seconds: batch, deny_immediately: opts.denyImmediately ?? current?.deny_immediately ?? false };
        const after = await updateGovernanceSettings(
          db,
          tenant.id,
          { time_zone: opts.timeZone, anomaly_flags: anomaly, decision_release: decisionRelease },
          'cli',
          Date.now(),
        );
        process.stdout.write(`${JSON.stringify(after, null, 2)}\n`);
      });
    },
  );

  scoped(
    governance
      .command('device-time-zone <fingerprint> <zone>')
      .description("set a device's own time zone; `none` makes it use the organisation's"),
  ).action(async (fingerprint: string, zone: string, opts: TenantOptions) => {
    await withStore(opts.dataDir, async (db) => {
      const tenant = await tenantOf(db, opts);
      const result = await setDeviceTimeZone(db, tenant.id, fingerprint, zone === 'none' ? null : zone, 'cli');
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    });
  });
}
