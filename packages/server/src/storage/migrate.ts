import { createHash } from 'node:crypto';
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

function migrations(dir: URL, before?: string): Array<{ version: string; sql: string }> {
  return readdirSync(dir)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f) && (before === undefined || f < before))
    .sort()
    .map((file) => ({ version: file.replace(/\.sql$/, ''), sql: readFileSync(new URL(file, dir), 'utf8') }));
}

/** SHA-256 over the server's migrations, names and contents: what a store made from them was made from. */
export function migrationsDigest(): string {
  const hash = createHash('sha256');
  for (const { version, sql } of migrations(MIGRATIONS_DIR)) hash.update(`${version}\n${sql.length}\n${sql}`);
  return hash.digest('hex');
}

/** The versions already applied, read without a lock: a recorded migration is never undone. */
async function recordedVersions(db: Database): Promise<Set<string>> {
  const [table] = await db.query<{ exists: boolean }>("SELECT to_regclass('schema_migrations') IS NOT NULL AS exists");
  if (!table?.exists) return new Set();
  return new Set((await db.query<{ version: string }>('SELECT version FROM schema_migrations')).map((r) => r.version));
}

/**
 * Applies, in order and each in its own transaction, every migration not yet recorded. Each file
 * runs whole, as one script, so statements with dollar-quoted bodies (functions, DO blocks) work.
 * An up-to-date store costs two reads; the others take the lock and check again, since another
 * instance may be migrating the same database.
 */
export async function migrate(db: Database, { dir = MIGRATIONS_DIR, before }: MigrateOptions = {}): Promise<string[]> {
  const pending = migrations(dir, before);
  const recorded = await recordedVersions(db);
  const applied: string[] = [];
  for (const { version, sql } of pending.filter((m) => !recorded.has(m.version))) {
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
