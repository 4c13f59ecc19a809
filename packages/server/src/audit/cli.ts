/** `sigil audit verify` and `sigil audit export`, straight on the store. */
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { Database } from '../storage/database.js';
import type { WithStore } from '../webhooks/cli.js';
import { readFileSync } from 'node:fs';
import type { SignedTreeHead } from '@sigilauth/protocol/wire';
import { existingServerPublicKey, loadServerIdentity } from '../identity/server-identity.js';
import { listTenants } from '../tenants/tenants.js';
import { entriesAfter, integrateTenant, signTreeHeadIfGrown } from './store.js';
import { verifyAuditLog } from './verify.js';

async function tenantsFor(db: Database, tenant: string | undefined): Promise<{ id: string; name: string }[]> {
  if (tenant !== undefined && !/^[0-9a-f-]{36}$/i.test(tenant)) throw new InvalidArgumentError(`no organisation ${tenant}`);
  const rows = await listTenants(db, tenant ?? null);
  if (tenant !== undefined && rows.length === 0) throw new InvalidArgumentError(`no organisation ${tenant}`);
  return rows;
}

/** Tree heads from a file: one JSON head, a JSON array of heads, or one head per line. */
function readSavedHeads(file: string): SignedTreeHead[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InvalidArgumentError(`cannot read ${file}: ${(err as Error).message}`);
  }
  let values: unknown[];
  try {
    const whole: unknown = JSON.parse(text);
    values = Array.isArray(whole) ? whole : [whole];
  } catch {
    try {
      values = text
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as unknown);
    } catch {
      throw new InvalidArgumentError(`${file} is not a tree head, a JSON array of them, or one per line`);
    }
  }
  const heads = values.filter(isTreeHeadShaped);
  if (heads.length === 0 || heads.length !== values.length)
    throw new InvalidArgumentError(`${file} holds something other than signed tree heads`);
  return heads;
}

function isTreeHeadShaped(v: unknown): v is SignedTreeHead {
  const p = (v as SignedTreeHead | null)?.payload;
  return (
    typeof p === 'object' &&
    p !== null &&
    p.purpose === 'audit-tree-head' &&
    typeof p.tenant_id === 'string' &&
    Number.isSafeInteger(p.tree_size) &&
    p.tree_size >= 0
  );
}

/** The store's identity, without making one (loadServerIdentity would, on an empty store). */
async function existingIdentity(db: Database) {
  if ((await existingServerPublicKey(db)) === null)
    throw new InvalidArgumentError('the store has no server identity yet; run sigil serve once');
  return loadServerIdentity(db);
}

/** Writes to stdout, waiting when the pipe is full. */
function write(text: string): Promise<void> {
  return process.stdout.write(text) ? Promise.resolve() : new Promise((resolve) => process.stdout.once('drain', () => resolve()));
}

export function registerAuditCommands(program: Command, withStore: WithStore, dataDirOption: () => Option): void {
  const audit = program.command('audit').description('the tamper-evident audit log');
  audit
    .command('verify')
    .description('recompute every leaf and root from storage, check every signed tree head; exit 1 on any problem')
    .option('--tenant <id>', 'only this organisation (default: all)')
    .option('--server-public-key <key>', "the server's public key to check tree heads with (default: the one in the store)")
    .option('--since-head <file>', 'tree heads saved earlier (JSON, or one per line): the log must be a consistent extension of each')
    .addOption(dataDirOption())
    .action(async (opts: { tenant?: string; serverPublicKey?: string; sinceHead?: string; dataDir: string }) => {
      const savedHeads = opts.sinceHead === undefined ? [] : readSavedHeads(opts.sinceHead);
      await withStore(opts.dataDir, async (db) => {
        const publicKey = opts.serverPublicKey ?? (await existingServerPublicKey(db));
        if (!publicKey) throw new InvalidArgumentError('the store has no server identity; pass --server-public-key');
        let failed = false;
        const tenants = await tenantsFor(db, opts.tenant);
        const known = new Set(tenants.map((t) => t.id));
        for (const head of savedHeads) {
          const tenantId = head.payload.tenant_id;
          if (known.has(tenantId) || (opts.tenant !== undefined && tenantId !== opts.tenant)) continue;
          failed = true;
          await write(
            `saved tree head of size ${head.payload.tree_size} is for organisation ${tenantId}, which the store does not have: FAILED (removed?)\n`,
          );
        }
        for (const tenant of tenants) {
          const report = await verifyAuditLog(db, tenant.id, publicKey, { savedHeads });
          const summary =
            `${report.entries} entries${report.pending ? ` (+${report.pending} not yet integrated)` : ''}, ${report.treeHeads} signed tree heads` +
            (report.savedHeads ? `, consistent with ${report.savedHeads} saved tree head(s)` : '');
          if (report.problems.length === 0) {
            await write(`audit log of ${tenant.name} (${tenant.id}): OK: ${summary}, root ${report.rootHash}\n`);
            continue;
          }
          failed = true;
          await write(`audit log of ${tenant.name} (${tenant.id}): FAILED: ${report.problems.length} problem(s) in ${summary}\n`);
          for (const p of report.problems.slice(0, 50)) await write(`  [${p.kind}] ${p.message}\n`);
          if (report.problems.length > 50) await write(`  … and ${report.problems.length - 50} more\n`);
          const first = report.problems[0]!;
          await write(`  first problem: ${first.message}\n`);
        }
        if (failed) process.exitCode = 1;
      });
    });
  audit
    .command('head')
    .description(
      'print the latest signed tree head of each organisation, one JSON object per line (signs one if the log has grown): save it outside the server',
    )
    .option('--tenant <id>', 'only this organisation (default: all)')
    .addOption(dataDirOption())
    .action(async (opts: { tenant?: string; dataDir: string }) => {
      await withStore(opts.dataDir, async (db) => {
        const identity = await existingIdentity(db);
        for (const tenant of await tenantsFor(db, opts.tenant)) {
          await integrateTenant(db, tenant.id);
          const head = await signTreeHeadIfGrown(
            db,
            { sign: identity.signTreeHead, serverId: identity.serverId },
            tenant.id,
            Date.now(),
            0,
          );
          await write(`${JSON.stringify(head)}\n`);
        }
      });
    });
  audit
    .command('export')
    .description('stream the log, one JSON object per line, in leaf order (entries not yet integrated are integrated first)')
    .addOption(new Option('--format <format>', 'output format').choices(['jsonl']).default('jsonl'))
    .option('--tenant <id>', 'only this organisation (default: all)')
    .addOption(dataDirOption())
    .action(async (opts: { tenant?: string; dataDir: string }) => {
      await withStore(opts.dataDir, async (db) => {
        for (const tenant of await tenantsFor(db, opts.tenant)) {
          await integrateTenant(db, tenant.id);
          let after = -1;
          for (;;) {
            const entries = await entriesAfter(db, tenant.id, after, 1000);
            for (const entry of entries) await write(`${JSON.stringify(entry)}\n`);
            if (entries.length < 1000) break;
            after = Number(entries[entries.length - 1]!.leaf_index);
          }
        }
      });
    });
}
