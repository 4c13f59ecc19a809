import { readdirSync, readFileSync } from 'node:fs';
import type { Database } from './database.js';

const MIGRATIONS_DIR = new URL('../../migrations/', import.meta.url);
/** Any constant: every instance takes this advisory lock so only one migrates at a time. */
const MIGRATION_LOCK = 7_135_521;

export interface MigrateOptions {
  /** Where the numbered .sql files are (default: the server's own migrations). */
  dir?: URL;
  /** Apply only the versions that sort before this one (an upgrade test lays down an older schema). */
  before?: string;
}

/**
 * Applies, in order and each in its own transaction, every migration not yet recorded. Each file
 * runs whole, as one script, so statements with dollar-quoted bodies (functions, DO blocks) work.
 */
export async function migrate(db: Database, { dir = MIGRATIONS_DIR, before }: MigrateOptions = {}): Promise<string[]> {
  const files = readdirSync(dir)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f) && (before === undefined || f < before))
    .sort();
  const applied: string[] = [];
  for (const file of files) {
    const version = file.replace(/\.sql$/, '');
    const sql = readFileSync(new URL(file, dir), 'utf8');
    await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await tx.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
      );
      const done = await tx.query('SELECT 1 FROM schema_migrations WHERE version = $1', [version]);
      if (done.length > 0) return;
      await tx.exec(sql);
      await tx.query('INSERT INTO schema_migrations (version) VALUES ($1)', [version]);
      applied.push(version);
    });
  }
  return applied;
}
