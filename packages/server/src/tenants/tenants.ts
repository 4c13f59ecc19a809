import { randomUUID } from 'node:crypto';
import type { Queryable } from '../storage/database.js';

export interface Tenant {
  id: string;
  name: string;
  created_at: Date;
  /** Set on a test-mode twin: the organisation whose sandbox it is. */
  live_tenant_id: string | null;
}

const COLUMNS = 'id, name, created_at, live_tenant_id';

/** Appended to a test-mode twin's name: devices show it, so approvers see they are deciding in test mode. */
const TEST_MODE_SUFFIX = ' (test mode)';

export async function createTenant(db: Queryable, name: string): Promise<Tenant> {
  const [row] = await db.query<Tenant>(`INSERT INTO tenants (id, name) VALUES ($1, $2) RETURNING ${COLUMNS}`, [randomUUID(), name]);
  return row!;
}

export async function getTenant(db: Queryable, id: string): Promise<Tenant | null> {
  const [row] = await db.query<Tenant>(`SELECT ${COLUMNS} FROM tenants WHERE id = $1`, [id]);
  return row ?? null;
}

/** The first organisation (never a test-mode twin): the one a single-tenant installation serves. */
export async function defaultTenant(db: Queryable): Promise<Tenant | null> {
  const [row] = await db.query<Tenant>(`SELECT ${COLUMNS} FROM tenants WHERE live_tenant_id IS NULL ORDER BY created_at, id LIMIT 1`);
  return row ?? null;
}

/**
 * What the server says of its organisation to someone not signed in: whether it has one yet, and
 * its name only when it serves exactly one (naming one of several would tell strangers who else
 * uses the server, and show another organisation's name to approvers).
 */
export async function publicOrganisation(db: Queryable): Promise<{ exists: boolean; name: string | null }> {
  const rows = await db.query<{ name: string }>('SELECT name FROM tenants WHERE live_tenant_id IS NULL LIMIT 2');
  return { exists: rows.length > 0, name: rows.length === 1 ? rows[0]!.name : null };
}

/** Renames an organisation and its test-mode twin. */
export async function renameTenant(db: Queryable, id: string, name: string): Promise<void> {
  await db.query(`UPDATE tenants SET name = CASE WHEN id = $1 THEN $2 ELSE $3 END WHERE id = $1 OR live_tenant_id = $1`, [
    id,
    name,
    name + TEST_MODE_SUFFIX,
  ]);
}

/** The organisation itself for a live tenant id, or the live organisation of a test-mode twin. */
export async function liveTenantId(db: Queryable, id: string): Promise<string | null> {
  const [row] = await db.query<{ live_id: string }>('SELECT coalesce(live_tenant_id, id) AS live_id FROM tenants WHERE id = $1', [id]);
  return row?.live_id ?? null;
}

/** The test-mode twin of an organisation (given by its live id), made on first use. */
export async function testModeTenant(db: Queryable, liveId: string): Promise<Tenant> {
  await db.query(
    `INSERT INTO tenants (id, name, live_tenant_id)
     SELECT $2, name || $3, id FROM tenants WHERE id = $1 AND live_tenant_id IS NULL
     ON CONFLICT (live_tenant_id) DO NOTHING`,
    [liveId, randomUUID(), TEST_MODE_SUFFIX],
  );
  const [row] = await db.query<Tenant>(`SELECT ${COLUMNS} FROM tenants WHERE live_tenant_id = $1`, [liveId]);
  if (!row) throw new Error(`no organisation ${liveId}`);
  return row;
}

/** Every organisation, or the one with this ID (none when it does not exist), oldest first. */
export async function listTenants(db: Queryable, id: string | null = null): Promise<Array<{ id: string; name: string }>> {
  return db.query<{ id: string; name: string }>('SELECT id, name FROM tenants WHERE $1::uuid IS NULL OR id = $1 ORDER BY created_at, id', [
    id,
  ]);
}
