import { randomUUID } from 'node:crypto';
import type { Queryable } from '../storage/database.js';

export interface Tenant {
  id: string;
  name: string;
  created_at: Date;
}

export async function createTenant(db: Queryable, name: string): Promise<Tenant> {
  const [row] = await db.query<Tenant>('INSERT INTO tenants (id, name) VALUES ($1, $2) RETURNING id, name, created_at', [
    randomUUID(),
    name,
  ]);
  return row!;
}

export async function getTenant(db: Queryable, id: string): Promise<Tenant | null> {
  const [row] = await db.query<Tenant>('SELECT id, name, created_at FROM tenants WHERE id = $1', [id]);
  return row ?? null;
}

/** The first tenant: the organisation a single-tenant installation serves. */
export async function defaultTenant(db: Queryable): Promise<Tenant | null> {
  const [row] = await db.query<Tenant>('SELECT id, name, created_at FROM tenants ORDER BY created_at, id LIMIT 1');
  return row ?? null;
}

export async function renameTenant(db: Queryable, id: string, name: string): Promise<void> {
  await db.query('UPDATE tenants SET name = $2 WHERE id = $1', [id, name]);
}
