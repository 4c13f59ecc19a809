/** `sigil audit verify` and `sigil audit export`, straight on the store. */
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { Database } from '../storage/database.js';
import type { WithStore } from '../webhooks/cli.js';
import { ENTRY_COLUMNS, integrateTenant, toEntry } from './store.js';
import { verifyAuditLog } from './verify.js';

async function tenantsFor(db: Database, tenant: string | undefined): Promise<{ id: string; name: string }[]> {
  if (tenant !== undefined && !/^[0-9a-f-]{36}$/i.test(tenant)) throw new InvalidArgumentError(`no organisation ${tenant}`);
  const rows = await db.query<{ id: string; name: string }>('SELECT id, name FROM tenants WHERE $1::uuid IS NULL OR id = $1 ORDER BY created_at, id', [
    tenant ?? null,
  ]);
  if (tenant !== undefined && rows.length === 0) throw new InvalidArgumentError(`no organisation ${tenant}`);
  return rows;
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
    .addOption(dataDirOption())
    .action(async (opts: { tenant?: string; serverPublicKey?: string; dataDir: string }) => {
      await withStore(opts.dataDir, async (db) => {
        const [identity] = await db.query<{ public_key: string }>('SELECT public_key FROM server_identity');
        const publicKey = opts.serverPublicKey ?? identity?.public_key;
        if (!publicKey) throw new InvalidArgumentError('the store has no server identity; pass --server-public-key');
        let failed = false;
        for (const tenant of await tenantsFor(db, opts.tenant)) {
          const report = await verifyAuditLog(db, tenant.id, publicKey);
          const summary = `${report.entries} entries${report.pending ? ` (+${report.pending} not yet integrated)` : ''}, ${report.treeHeads} signed tree heads`;
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
            const rows = await db.query<Parameters<typeof toEntry>[0]>(
              `SELECT ${ENTRY_COLUMNS} FROM audit_entries WHERE tenant_id = $1 AND leaf_index > $2 ORDER BY leaf_index LIMIT 1000`,
              [tenant.id, after],
            );
            for (const row of rows) await write(`${JSON.stringify(toEntry(row))}\n`);
            if (rows.length < 1000) break;
            after = Number(rows[rows.length - 1]!.leaf_index);
          }
        }
      });
    });
}
