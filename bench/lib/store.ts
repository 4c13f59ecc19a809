/**
 * Stores for benchmark servers: a fresh PGlite data directory, or a fresh PostgreSQL database
 * (created per run and dropped after, by test/support/postgres.ts). Setup that would take
 * minutes through the public API (pairing thousands of devices) is done with direct SQL through
 * the server's own storage layer, before the server starts (PGlite allows one process at a time).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createTestDatabase } from '../../test/support/postgres.js';
import type { Database } from '../../packages/server/src/storage/database.js';
import { openStorage } from '../../packages/server/src/storage/open.js';
import { createApiKey } from '../../packages/server/src/tenants/api-keys.js';
import { createTenant, defaultTenant } from '../../packages/server/src/tenants/tenants.js';

export type StoreKind = 'pglite' | 'postgres';

export const POSTGRES_ADMIN_URL =
  process.env.SIGIL_BENCH_POSTGRES_URL ?? process.env.SIGIL_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface BenchStore {
  kind: StoreKind;
  dataDir: string;
  databaseUrl: string | undefined;
  dispose(): Promise<void>;
}

export async function postgresReachable(): Promise<{ ok: boolean; reason?: string; version?: string }> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    const [row] = (await client.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows;
    return { ok: true, version: row?.v ?? '?' };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  } finally {
    await client.end().catch(() => {});
  }
}

export async function createStore(kind: StoreKind): Promise<BenchStore> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sigil-bench-'));
  let databaseUrl: string | undefined;
  let drop = async () => {};
  if (kind === 'postgres') {
    const database = await createTestDatabase('sigil_bench', POSTGRES_ADMIN_URL);
    databaseUrl = database.url;
    drop = database.drop;
  }
  return {
    kind,
    dataDir,
    databaseUrl,
    async dispose() {
      await drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Opens the store in this process with the server's own openStorage (migrations included). */
export function openStore(store: BenchStore, poolSize = 4): Promise<Database> {
  return openStorage({ databaseUrl: store.databaseUrl, dataDir: store.dataDir, poolSize });
}

export interface DeviceRecord {
  fingerprint: string;
  publicKey: string;
  name: string;
}

export interface PreparedStore {
  tenantId: string;
  apiKey: string;
}

/**
 * Gives the store an organisation with an API key and pairs `devices` with it by inserting
 * `devices` rows directly (what a completed pairing writes, minus its audit entry and event).
 */
export async function prepareStore(store: BenchStore, devices: readonly DeviceRecord[]): Promise<PreparedStore> {
  const db = await openStore(store);
  try {
    const tenant = (await defaultTenant(db)) ?? (await createTenant(db, 'Bench Corp'));
    const { key } = await createApiKey(db, tenant.id, 'bench', 'live');
    await insertDevices(db, tenant.id, devices);
    return { tenantId: tenant.id, apiKey: key };
  } finally {
    await db.close();
  }
}

export async function insertDevices(db: Database, tenantId: string, devices: readonly DeviceRecord[]): Promise<void> {
  for (let i = 0; i < devices.length; i += 2000) {
    const batch = devices.slice(i, i + 2000);
    await db.query(
      `INSERT INTO devices (tenant_id, fingerprint, public_key, name)
       SELECT $1, f, k, n FROM unnest($2::text[], $3::text[], $4::text[]) AS t(f, k, n)`,
      [tenantId, batch.map((d) => d.fingerprint), batch.map((d) => d.publicKey), batch.map((d) => d.name)],
    );
  }
}
