import { readdirSync, readFileSync } from 'node:fs';
import type { Database } from './database.js';

const MIGRATIONS_DIR = new URL('../../migrations/', import.meta.url);
/** Any constant: every instance takes this advisory lock so only one migrates at a time. */
const MIGRATION_LOCK = 7_135_521;

/** Applies, in order and each in its own transaction, every migration not yet recorded. */
export async function migrate(db: Database): Promise<string[]> {
  const files = readdirSync(MIGRATIONS_DIR).filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f)).sort();
  const applied: string[] = [];
  for (const file of files) {
    const version = file.replace(/\.sql$/, '');
    const sql = readFileSync(new URL(file, MIGRATIONS_DIR), 'utf8');
    await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await tx.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
      );
      const done = await tx.query('SELECT 1 FROM schema_migrations WHERE version = $1', [version]);
      if (done.length > 0) return;
      await runStatements(tx, sql);
      await tx.query('INSERT INTO schema_migrations (version) VALUES ($1)', [version]);
      applied.push(version);
    });
  }
  return applied;
}

/** Extended-protocol queries take one statement each, so split on statement-ending semicolons. */
async function runStatements(tx: { query(sql: string): Promise<unknown> }, sql: string): Promise<void> {
  for (const statement of sql.split(/;\s*(?:\n|$)/)) {
    if (statement.trim()) await tx.query(statement);
  }
}
