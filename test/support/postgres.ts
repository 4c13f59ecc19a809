import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import pg from 'pg';

export const POSTGRES_ADMIN_URL = process.env.SIGIL_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

let available: Promise<boolean> | null = null;

/** Whether the test PostgreSQL server answers; its absence is fatal with SIGIL_TEST_REQUIRE_POSTGRES=1 (CI sets it) or CI=true. */
export function postgresAvailable(): Promise<boolean> {
  available ??= (async () => {
    const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 30_000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch (err) {
      if (process.env.SIGIL_TEST_REQUIRE_POSTGRES === '1' || process.env.CI === 'true') {
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
export async function createTestDatabase(
  prefix = 'sigil_test',
  adminUrl = POSTGRES_ADMIN_URL,
): Promise<{ url: string; drop: () => Promise<void> }> {
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

/**
 * The directory of the test PostgreSQL server's own programs (initdb, pg_ctl), for tests that
 * run a private server of the same version: the executable of a backend of the running cluster
 * (on this machine), else `pg_config --bindir` if it names the same major version.
 */
export async function postgresBinDir(adminUrl = POSTGRES_ADMIN_URL): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  let pid: number;
  let major: string;
  try {
    const { rows } = await client.query<{ pid: number; version: string }>(
      "SELECT pg_backend_pid() AS pid, current_setting('server_version_num') AS version",
    );
    pid = rows[0]!.pid;
    major = String(Math.floor(Number(rows[0]!.version) / 10_000));
  } finally {
    await client.end();
  }
  const hasTools = (dir: string) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'));
  const candidates: string[] = [];
  try {
    // A backend's executable is the postmaster's: the running server's own binary directory.
    candidates.push(dirname(realpathSync(`/proc/${pid}/exe`)));
  } catch {
    // another machine or no permission to look
  }
  try {
    const bindir = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
    const version = execFileSync(join(bindir, 'postgres'), ['--version'], { encoding: 'utf8' });
    if (new RegExp(`\\s${major}(\\.|\\s)`).test(version)) candidates.push(bindir);
  } catch {
    // no pg_config
  }
  const found = candidates.find(hasTools);
  if (!found)
    throw new Error(`no initdb and pg_ctl for the running PostgreSQL ${major} (looked in: ${candidates.join(', ') || 'nothing found'})`);
  return found;
}

/** How many backends of `client`'s database wait for a lock: a test's way to see that a statement it started is blocked. */
export async function lockWaiters(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
  );
  return rows[0]!.n;
}

/**
 * Counts round trips to PostgreSQL (calls into pg's client, each one write to the server and one
 * answer) from now until `stop` is called.
 */
export function countRoundTrips(): { readonly count: number; reset(): void; stop(): void } {
  const realQuery = pg.Client.prototype.query;
  let count = 0;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    count++;
    return (realQuery as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof realQuery;
  return {
    get count() {
      return count;
    },
    reset: () => void (count = 0),
    stop: () => void (pg.Client.prototype.query = realQuery),
  };
}
