/** `sigil device list`: the paired devices, with what a request needs to name one as an approver. */
import { InvalidArgumentError, type Command, type Option } from 'commander';
import { defaultTenant, getTenant, testModeTenant } from '../tenants/tenants.js';
import type { WithStore } from '../webhooks/cli.js';
import { displayText, isFingerprint, OWNER_ID, OWNER_ID_RULE } from '@sigilauth/protocol';
import { commandTenant } from '../teams/cli.js';
import { listDevices, setDeviceOwner } from './devices.js';

export function registerDeviceCommands(program: Command, withStore: WithStore, dataDirOption: () => Option): void {
  const device = program.command('device').description('see paired approver devices');
  device
    .command('list')
    .description("list an organisation's devices: name, status, and in full the fingerprint and public key a request names them by")
    .option('--tenant <id>', 'organisation (default: the first one)')
    .option('--test', "the organisation's test-mode devices")
    .option('--json', 'print the devices as JSON (as GET /v1/devices answers)')
    .addOption(dataDirOption())
    .action(async (opts: { tenant?: string; test?: boolean; json?: boolean; dataDir: string }) => {
      await withStore(opts.dataDir, async (db) => {
        const organisation = opts.tenant ? await getTenant(db, opts.tenant) : await defaultTenant(db);
        if (!organisation)
          throw new InvalidArgumentError(
            opts.tenant ? `no organisation ${opts.tenant}` : 'the store has no organisation yet; run sigil serve once',
          );
        const tenant = opts.test ? await testModeTenant(db, organisation.live_tenant_id ?? organisation.id) : organisation;
        const devices = await listDevices(db, tenant.id);
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ data: devices }, null, 2)}\n`);
          return;
        }
        const lines = [`${devices.length} device${devices.length === 1 ? '' : 's'} of ${displayText(tenant.name)} (${tenant.id})`];
        for (const d of devices) {
          lines.push(
            '',
            `"${displayText(d.name)}"  ${d.status}  ${d.attestation.format === 'software' ? 'sigil-device' : `passkey${'model' in d.attestation && d.attestation.model ? ` (${d.attestation.model})` : ''}`}  paired ${d.paired_at}`,
            `  fingerprint: ${d.fingerprint}`,
            `  public_key: ${d.device_public_key}`,
          );
        }
        process.stdout.write(`${lines.join('\n')}\n`);
      });
    });
  device
    .command('owner <fingerprint> [owner-id]')
    .description(
      "link a device to its owner, as your application names the person (a request naming that owner as requester leaves the owner's devices out)",
    )
    .option('--clear', 'unlink the device from its owner')
    .option('--tenant <id>', 'organisation (default: the first one)')
    .option('--test', "one of the organisation's test-mode devices")
    .addOption(dataDirOption())
    .action(
      async (
        fingerprint: string,
        ownerId: string | undefined,
        opts: { clear?: boolean; tenant?: string; test?: boolean; dataDir: string },
      ) => {
        if (!isFingerprint(fingerprint))
          throw new InvalidArgumentError(`"${fingerprint}" is not a device fingerprint (64 lower-case hex characters)`);
        if (opts.clear === (ownerId !== undefined)) throw new InvalidArgumentError('give an owner id, or --clear');
        if (ownerId !== undefined && !OWNER_ID.test(ownerId)) throw new InvalidArgumentError(`the owner id ${OWNER_ID_RULE}`);
        await withStore(opts.dataDir, async (db) => {
          const tenant = await commandTenant(db, opts);
          const device = await setDeviceOwner(db, tenant.id, fingerprint, ownerId ?? null);
          process.stdout.write(`${device.fingerprint}  "${displayText(device.name)}"  owner=${device.owner_id ?? '(none)'}\n`);
        });
      },
    );
}
