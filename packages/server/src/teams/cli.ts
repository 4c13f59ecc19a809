/** `sigil team …`: approval teams straight in the store (as `sigil webhook`), each change audited and announced like the API's. */
import { InvalidArgumentError, type Command, type Option } from 'commander';
import { displayText, isFingerprint, TEAM_LIMITS, TEAM_SLUG, TEAM_SLUG_FORM } from '@sigilauth/protocol';
import type { TeamView } from '@sigilauth/protocol/wire';
import type { Database } from '../storage/database.js';
import { defaultTenant, getTenant, testModeTenant, type Tenant } from '../tenants/tenants.js';
import type { WithStore } from '../webhooks/cli.js';
import { createTeam, deleteTeam, getTeam, listTeams, updateTeam } from './teams.js';

interface TenantOptions {
  tenant?: string;
  test?: boolean;
  dataDir: string;
}

/** The organisation a command acts on: --tenant or the first one, in test mode with --test. */
export async function commandTenant(db: Database, opts: { tenant?: string; test?: boolean }): Promise<Tenant> {
  const organisation = opts.tenant ? await getTenant(db, opts.tenant) : await defaultTenant(db);
  if (!organisation)
    throw new InvalidArgumentError(
      opts.tenant ? `no organisation ${opts.tenant}` : 'the store has no organisation yet; run sigil serve once',
    );
  return opts.test ? testModeTenant(db, organisation.live_tenant_id ?? organisation.id) : organisation;
}

const slugArg = (slug: string): string => {
  if (!TEAM_SLUG.test(slug)) throw new InvalidArgumentError(`"${slug}" is not a team slug: ${TEAM_SLUG_FORM}`);
  return slug;
};
const fingerprints = (list: string[]): string[] => {
  const bad = list.find((f) => !isFingerprint(f));
  if (bad !== undefined) throw new InvalidArgumentError(`"${bad}" is not a device fingerprint (64 lower-case hex characters)`);
  return list;
};
const minMembers = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > TEAM_LIMITS.maxMinMembers)
    throw new InvalidArgumentError(`--min-members must be an integer from 1 to ${TEAM_LIMITS.maxMinMembers}`);
  return n;
};
const teamName = (value: string): string => {
  if (value.trim() === '' || value.length > TEAM_LIMITS.maxNameLength)
    throw new InvalidArgumentError(`--name must be 1-${TEAM_LIMITS.maxNameLength} characters`);
  return value;
};
const collect = (value: string, previous: string[] = []) => [...previous, value];

function describe(team: TeamView): string {
  const lines = [
    `${team.slug}  "${displayText(team.name)}"  ${team.active_members} active of ${team.members.length}, at least ${team.min_members} required`,
  ];
  for (const m of team.members)
    lines.push(`  ${m.fingerprint}  ${m.status}  "${displayText(m.name)}"${m.owner_id ? `  owner=${m.owner_id}` : ''}`);
  return lines.join('\n');
}

export function registerTeamCommands(program: Command, withStore: WithStore, dataDirOption: () => Option): void {
  const team = program.command('team').description('manage approval teams (a request group can name a team instead of listing approvers)');
  const common = (cmd: Command) =>
    cmd
      .option('--tenant <id>', 'organisation (default: the first one)')
      .option('--test', "the organisation's test-mode teams")
      .option('--json', 'print JSON, as the API answers')
      .addOption(dataDirOption());
  const print = (json: boolean | undefined, value: TeamView | TeamView[] | object, text: string) =>
    process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text}\n`);

  common(team.command('list').description("list the organisation's teams and their members")).action(
    async (opts: TenantOptions & { json?: boolean }) => {
      await withStore(opts.dataDir, async (db) => {
        const tenant = await commandTenant(db, opts);
        const teams = await listTeams(db, tenant.id);
        print(
          opts.json,
          { data: teams },
          [`${teams.length} team${teams.length === 1 ? '' : 's'} of ${displayText(tenant.name)}`, ...teams.map(describe)].join('\n'),
        );
      });
    },
  );
  common(team.command('show <slug>').description('show one team')).action(
    async (slug: string, opts: TenantOptions & { json?: boolean }) => {
      await withStore(opts.dataDir, async (db) => {
        const found = await getTeam(db, (await commandTenant(db, opts)).id, slugArg(slug));
        print(opts.json, found, describe(found));
      });
    },
  );
  common(
    team
      .command('create <slug>')
      .description('create a team')
      .requiredOption('--name <name>', 'the name approvers and the console show', teamName)
      .option('--member <fingerprint>', 'a member device (repeat for more)', collect)
      .option('--min-members <n>', 'refuse requests when fewer members can approve (default 1)', minMembers),
  ).action(async (slug: string, opts: TenantOptions & { json?: boolean; name: string; member?: string[]; minMembers?: number }) => {
    await withStore(opts.dataDir, async (db) => {
      const tenant = await commandTenant(db, opts);
      const created = await createTeam(
        db,
        tenant.id,
        {
          slug: slugArg(slug),
          name: opts.name,
          members: fingerprints(opts.member ?? []),
          ...(opts.minMembers ? { min_members: opts.minMembers } : {}),
        },
        Date.now(),
      );
      print(opts.json, created, `Created team\n${describe(created)}`);
    });
  });
  common(
    team
      .command('set <slug>')
      .description("change a team's name or minimum size")
      .option('--name <name>', 'new name', teamName)
      .option('--min-members <n>', 'new minimum', minMembers),
  ).action(async (slug: string, opts: TenantOptions & { json?: boolean; name?: string; minMembers?: number }) => {
    await withStore(opts.dataDir, async (db) => {
      const tenant = await commandTenant(db, opts);
      const changed = await updateTeam(
        db,
        tenant.id,
        slugArg(slug),
        { ...(opts.name ? { name: opts.name } : {}), ...(opts.minMembers ? { min_members: opts.minMembers } : {}) },
        Date.now(),
      );
      print(opts.json, changed, describe(changed));
    });
  });
  for (const [verb, field, what] of [
    ['add', 'add_members', 'add member devices'],
    ['remove', 'remove_members', 'remove member devices (open requests keep the members they froze)'],
  ] as const) {
    common(team.command(`${verb} <slug> <fingerprints...>`).description(what)).action(
      async (slug: string, list: string[], opts: TenantOptions & { json?: boolean }) => {
        await withStore(opts.dataDir, async (db) => {
          const tenant = await commandTenant(db, opts);
          const changed = await updateTeam(db, tenant.id, slugArg(slug), { [field]: fingerprints(list) }, Date.now());
          print(opts.json, changed, describe(changed));
        });
      },
    );
  }
  common(team.command('delete <slug>').description('delete a team (open requests keep the members they froze)')).action(
    async (slug: string, opts: TenantOptions & { json?: boolean }) => {
      await withStore(opts.dataDir, async (db) => {
        const deleted = await deleteTeam(db, (await commandTenant(db, opts)).id, slugArg(slug), Date.now());
        print(opts.json, deleted, `Deleted team ${slug}`);
      });
    },
  );
}
