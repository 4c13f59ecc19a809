import pg from 'pg';
import { openStorage } from '../../packages/server/src/storage/open.js';
import type { TestStore } from './stores.js';

/**
 * Runs statements straight on a test store, in order, outside any server: on PostgreSQL through
 * its URL (while servers run), on the embedded store by opening it (only while no server has it
 * open). Returns each statement's rows.
 */
export async function sqlOnStore(
  store: Pick<TestStore, 'dataDir' | 'databaseUrl'>,
  statements: string[],
  params: unknown[][] = [],
): Promise<unknown[][]> {
  const results: unknown[][] = [];
  if (store.databaseUrl) {
    const client = new pg.Client({ connectionString: store.databaseUrl });
    await client.connect();
    try {
      for (const [i, sql] of statements.entries()) results.push((await client.query(sql, params[i])).rows);
    } finally {
      await client.end();
    }
  } else {
    const db = await openStorage({ dataDir: store.dataDir });
    try {
      for (const [i, sql] of statements.entries()) results.push(await db.query(sql, params[i]));
    } finally {
      await db.close();
    }
  }
  return results;
}

/** One statement's rows (see sqlOnStore). */
export async function queryStore<T>(store: Pick<TestStore, 'dataDir' | 'databaseUrl'>, sql: string, params: unknown[] = []): Promise<T[]> {
  const [rows] = await sqlOnStore(store, [sql], [params]);
  return rows as T[];
}
