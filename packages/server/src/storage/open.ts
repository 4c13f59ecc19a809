import type { Database } from './database.js';
import { migrate } from './migrate.js';

export interface StorageOptions {
  /** A PostgreSQL connection string; when absent, the embedded store in dataDir is used. */
  databaseUrl?: string | undefined;
  dataDir?: string | undefined;
  poolSize?: number;
  /** Unpack the build-time template into a new embedded store instead of running initdb (default true). */
  pgliteTemplate?: boolean;
}

/**
 * Opens the configured store and brings its schema up to date. Only the driver in use is loaded.
 * The embedded store runs on its own thread (pglite-thread.ts).
 */
export async function openStorage(options: StorageOptions): Promise<Database> {
  const db = options.databaseUrl
    ? await (await import('./postgres.js')).openPostgres({ connectionString: options.databaseUrl, poolSize: options.poolSize ?? 10 })
    : await (await import('./pglite-thread.js')).openPgliteThread(options.dataDir, { template: options.pgliteTemplate ?? true });
  try {
    await migrate(db);
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
  return db;
}
