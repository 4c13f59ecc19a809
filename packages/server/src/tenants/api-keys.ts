import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Queryable } from '../storage/database.js';
import { liveTenantId, testModeTenant } from './tenants.js';

const API_KEY_PATTERN = /^sgk_(live|test)_[0-9a-f]{64}$/;

export type ApiKeyMode = 'live' | 'test';

export interface ApiKeyRecord {
  id: string;
  /** The organisation the key acts for (its live id, for a test key too). */
  tenant_id: string;
  name: string;
  mode: ApiKeyMode;
  prefix: string;
  created_at: Date;
  revoked_at: Date | null;
}

export interface AuthenticatedKey {
  keyId: string;
  /** Whose objects the key sees: the organisation, or for a test key its test-mode twin. */
  tenantId: string;
  mode: ApiKeyMode;
}

/** API keys carry 256 random bits, so one SHA-256 is a sufficient one-way hash. */
function hashKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/**
 * Makes a key for an organisation (given by its id or its test-mode twin's). A test key belongs
 * to the organisation's test-mode twin, so it sees and makes only test-mode objects; the key's
 * creation is recorded in the organisation's own (live) audit log either way.
 */
export async function createApiKey(
  db: Queryable,
  tenantId: string,
  name: string,
  mode: ApiKeyMode,
): Promise<{ key: string; record: ApiKeyRecord }> {
  const organisation = await liveTenantId(db, tenantId);
  if (!organisation) throw new Error(`no organisation ${tenantId}`);
  const owner = mode === 'test' ? (await testModeTenant(db, organisation)).id : organisation;
  const key = `sgk_${mode}_${randomBytes(32).toString('hex')}`;
  // One statement, so the key and its audit entry are committed together.
  const [record] = await db.query<ApiKeyRecord>(
    `WITH k AS (
       INSERT INTO api_keys (id, tenant_id, name, mode, key_hash, prefix) VALUES ($1, $2, $3, $4, $5, $6)
       RETURNING id, tenant_id, name, mode, prefix, created_at, revoked_at
     ), a AS (
       INSERT INTO audit_entries (tenant_id, type, data)
       SELECT $7, 'apikey.created', jsonb_build_object('api_key_id', id, 'name', name, 'mode', mode, 'prefix', prefix) FROM k
     )
     SELECT id, $7::uuid AS tenant_id, name, mode, prefix, created_at, revoked_at FROM k`,
    [randomUUID(), owner, name, mode, hashKey(key), key.slice(0, 17), organisation],
  );
  return { key, record: record! };
}

/** Keys with the organisation they act for (tenant_id: the live organisation, for test keys too). */
export async function listApiKeys(db: Queryable, tenantId?: string): Promise<ApiKeyRecord[]> {
  return db.query<ApiKeyRecord>(
    `SELECT k.id, coalesce(t.live_tenant_id, t.id) AS tenant_id, k.name, k.mode, k.prefix, k.created_at, k.revoked_at
       FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
      WHERE $1::uuid IS NULL OR coalesce(t.live_tenant_id, t.id) = $1 ORDER BY k.created_at, k.id`,
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
     ), org AS (
       SELECT coalesce(t.live_tenant_id, t.id) AS id FROM k JOIN tenants t ON t.id = k.tenant_id
     ), a AS (
       INSERT INTO audit_entries (tenant_id, type, data)
       SELECT org.id, 'apikey.revoked', jsonb_build_object('api_key_id', k.id, 'name', k.name, 'prefix', k.prefix) FROM k, org WHERE k.newly_revoked
     )
     SELECT k.id, org.id AS tenant_id, k.name, k.mode, k.prefix, k.created_at, k.revoked_at FROM k, org`,
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
  // A key acts only in its own mode: a test key on a live organisation (or the reverse) is refused.
  const [row] = await db.query<{ id: string; tenant_id: string; mode: ApiKeyMode; key_hash: Buffer }>(
    `SELECT k.id, k.tenant_id, k.mode, k.key_hash FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
      WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND (k.mode = 'test') = (t.live_tenant_id IS NOT NULL)`,
    [hash],
  );
  if (!row || !timingSafeEqual(Buffer.from(row.key_hash), hash)) return null;
  return { keyId: row.id, tenantId: row.tenant_id, mode: row.mode };
}
