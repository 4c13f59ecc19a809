import { NO_CONFLICTS, type Database } from './database.js';
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

/**
 * The store while it is still opening, as a Database: each call waits for the open store (or fails
 * as the opening failed), then goes straight to it. The server builds its HTTP app with this while
 * the embedded store starts on its thread.
 */
export function whenOpen(kind: Database['kind'], opening: Promise<Database>): Database {
  let open: Database | null = null;
  opening.then(
    (db) => (open = db),
    () => {},
  );
  const store = (): Database | Promise<Database> => open ?? opening;
  return {
    kind,
    query: async (sql, params) => (await store()).query(sql, params),
    write: async (sql, params) => (await store()).write(sql, params),
    notifyOnCommit: async (sql, params) => (await store()).notifyOnCommit(sql, params),
    transaction: async (fn) => (await store()).transaction(fn),
    runProcedure: async (procedure, ...args) => (await store()).runProcedure(procedure, ...args),
    listen: async (channel, handler) => (await store()).listen(channel, handler),
    poolStats: () => open?.poolStats() ?? { total: 0, idle: 0, waiting: 0 },
    conflictRetries: () => open?.conflictRetries() ?? NO_CONFLICTS(),
    close: async () => (await store()).close(),
  };
}
