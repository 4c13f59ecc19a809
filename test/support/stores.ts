import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'node:test';
import type { Database } from '../../packages/server/src/storage/database.js';
import { createTestDatabase, postgresAvailable } from './postgres.js';

export type StoreKind = 'pglite' | 'postgres';

/** Where one test's server keeps its data: a fresh temporary directory or a fresh PostgreSQL database. */
export interface TestStore {
  kind: StoreKind;
  dataDir: string;
  databaseUrl: string | undefined;
  dispose(): Promise<void>;
}

export async function createStore(kind: StoreKind): Promise<TestStore> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sigil-test-'));
  const database = kind === 'postgres' ? await createTestDatabase() : null;
  return {
    kind,
    dataDir,
    databaseUrl: database?.url,
    async dispose() {
      await database?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * The store opened without its schema, for the tests of a migration: they lay down the schema
 * before it themselves (the embedded store skips the template, which holds today's schema).
 */
export async function openUnmigrated(store: TestStore, poolSize = 2): Promise<Database> {
  return store.databaseUrl
    ? (await import('../../packages/server/src/storage/postgres.js')).openPostgres({ connectionString: store.databaseUrl, poolSize })
    : (await import('../../packages/server/src/storage/pglite.js')).openPglite(store.dataDir, { template: false });
}

/**
 * Runs a suite once per store: embedded PGlite, then PostgreSQL. Without a reachable PostgreSQL
 * the second run is skipped with a reason (and is an error when SIGIL_TEST_REQUIRE_POSTGRES=1).
 */
const postgresReachable = await postgresAvailable();

export function describeEachStore(name: string, fn: (kind: StoreKind) => void): void {
  describe(`${name} [pglite]`, () => fn('pglite'));
  if (postgresReachable) describe(`${name} [postgres]`, () => fn('postgres'));
  else describe(`${name} [postgres]`, { skip: 'PostgreSQL unreachable at 127.0.0.1:5432' }, () => {});
}

/** A suite that needs PostgreSQL itself (several instances on one database, restarting the server). */
export function describePostgres(name: string, fn: () => void): void {
  if (postgresReachable) describe(name, fn);
  else describe(name, { skip: 'PostgreSQL unreachable at 127.0.0.1:5432' }, () => {});
}
