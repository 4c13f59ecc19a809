import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const POSTGRES_ADMIN_URL = process.env.SIGIL_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

let available: Promise<boolean> | null = null;

/** Whether the test PostgreSQL server answers; CI sets SIGIL_TEST_REQUIRE_POSTGRES=1 to make its absence fatal. */
export function postgresAvailable(): Promise<boolean> {
  available ??= (async () => {
    const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch (err) {
      if (process.env.SIGIL_TEST_REQUIRE_POSTGRES === '1') {
        throw new Error(`PostgreSQL is required for this run but unreachable at ${POSTGRES_ADMIN_URL}: ${(err as Error).message}`);
      }
      return false;
    } finally {
      await client.end().catch(() => {});
    }
  })();
  return available;
}

/** Creates an empty database for one test (or benchmark) and returns its URL and a function that drops it. */
export async function createTestDatabase(prefix = 'sigil_test', adminUrl = POSTGRES_ADMIN_URL): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
