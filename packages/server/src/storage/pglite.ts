import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { Database, NotificationHandler, Queryable, Row } from './database.js';
import { lockDataDir } from './data-dir-lock.js';

/** Embedded PostgreSQL in a data directory (or in memory when dataDir is undefined). */
export async function openPglite(dataDir: string | undefined): Promise<Database> {
  const unlock = dataDir ? lockDataDir(dataDir) : () => {};
  let pg: PGlite;
  try {
    pg = await PGlite.create(dataDir ? { dataDir: join(dataDir, 'pgdata') } : {});
  } catch (err) {
    unlock();
    throw err;
  }
  const wrap = (q: Pick<PGlite, 'query'>): Queryable => ({
    async query<T extends object>(sql: string, params?: unknown[]) {
      return (await q.query<T>(sql, params)).rows;
    },
  });
  return {
    kind: 'pglite',
    ...wrap(pg),
    transaction: (fn) => pg.transaction((tx) => fn(wrap(tx))),
    async listen(channel: string, handler: NotificationHandler) {
      const unsubscribe = await pg.listen(channel, handler);
      return () => unsubscribe();
    },
    async close() {
      await pg.close();
      unlock();
    },
  };
}
