import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Queryable } from '../storage/database.js';

const API_KEY_PATTERN = /^sgk_(live|test)_[0-9a-f]{64}$/;

export type ApiKeyMode = 'live' | 'test';

export interface ApiKeyRecord {
  id: string;
  tenant_id: string;
  name: string;
  mode: ApiKeyMode;
  prefix: string;
  created_at: Date;
  revoked_at: Date | null;
}

export interface AuthenticatedKey {
  keyId: string;
  tenantId: string;
  mode: ApiKeyMode;
}

/** API keys carry 256 random bits, so one SHA-256 is a sufficient one-way hash. */
function hashKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

export async function createApiKey(
  db: Queryable,
  tenantId: string,
  name: string,
  mode: ApiKeyMode,
): Promise<{ key: string; record: ApiKeyRecord }> {
  const key = `sgk_${mode}_${randomBytes(32).toString('hex')}`;
  // One statement, so the key and its audit entry are committed together.
  const [record] = await db.query<ApiKeyRecord>(
    `WITH k AS (
       INSERT INTO api_keys (id, tenant_id, name, mode, key_hash, prefix) VALUES ($1, $2, $3, $4, $5, $6)
       RETURNING id, tenant_id, name, mode, prefix, created_at, revoked_at
     ), a AS (
       INSERT INTO audit_entries (tenant_id, type, data)
       SELECT tenant_id, 'apikey.created', jsonb_build_object('api_key_id', id, 'name', name, 'mode', mode, 'prefix', prefix) FROM k
     )
     SELECT * FROM k`,
    [randomUUID(), tenantId, name, mode, hashKey(key), key.slice(0, 17)],
  );
  return { key, record: record! };
}

export async function listApiKeys(db: Queryable, tenantId?: string): Promise<ApiKeyRecord[]> {
  return db.query<ApiKeyRecord>(
    `SELECT id, tenant_id, name, mode, prefix, created_at, revoked_at FROM api_keys
     WHERE $1::uuid IS NULL OR tenant_id = $1 ORDER BY created_at, id`,
    [tenantId ?? null],
  );
}

export async function revokeApiKey(db: Queryable, id: string): Promise<ApiKeyRecord | null> {
  const [row] = await db.query<ApiKeyRecord>(
    `WITH before AS (SELECT id, revoked_at FROM api_keys WHERE id = $1 FOR UPDATE),
     k AS (
       UPDATE api_keys SET revoked_at = coalesce(api_keys.revoked_at, now()) FROM before WHERE api_keys.id = before.id
       RETURNING api_keys.id, api_keys.tenant_id, api_keys.name, api_keys.mode, api_keys.prefix, api_keys.created_at, api_keys.revoked_at,
                 before.revoked_at IS NULL AS newly_revoked
     ), a AS (
       INSERT INTO audit_entries (tenant_id, type, data)
       SELECT tenant_id, 'apikey.revoked', jsonb_build_object('api_key_id', id, 'name', name, 'prefix', prefix) FROM k WHERE newly_revoked
     )
     SELECT id, tenant_id, name, mode, prefix, created_at, revoked_at FROM k`,
    [id],
  );
  return row ?? null;
}

/**
 * Resolves a presented key to its tenant, or null. The lookup is by hash (an index probe that
 * reveals nothing about the key); the final comparison is constant-time anyway.
 */
export async function authenticateApiKey(db: Queryable, presented: string): Promise<AuthenticatedKey | null> {
  if (!API_KEY_PATTERN.test(presented)) return null;
  const hash = hashKey(presented);
  const [row] = await db.query<{ id: string; tenant_id: string; mode: ApiKeyMode; key_hash: Buffer }>(
    'SELECT id, tenant_id, mode, key_hash FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL',
    [hash],
  );
  if (!row || !timingSafeEqual(Buffer.from(row.key_hash), hash)) return null;
  return { keyId: row.id, tenantId: row.tenant_id, mode: row.mode };
}
