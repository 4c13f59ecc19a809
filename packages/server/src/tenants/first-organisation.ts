import type { Database } from '../storage/database.js';
import { createApiKey } from './api-keys.js';
import { createTenant, defaultTenant, renameTenant } from './tenants.js';

/** Any constant: instances starting together on an empty store agree on one first organisation. */
const INITIALISE_LOCK = 7_135_522;

/** Makes sure an empty store has an organisation and one API key; returns the key if it made one. */
export async function ensureFirstOrganisation(db: Database, orgName: string | undefined): Promise<string | null> {
  // The usual start: the organisation is there and keeps its name, and one read says so.
  const current = await defaultTenant(db);
  if (current && (!orgName || orgName === current.name)) return null;
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [INITIALISE_LOCK]);
    const existing = await defaultTenant(tx);
    if (existing) {
      if (orgName && orgName !== existing.name) await renameTenant(tx, existing.id, orgName);
      return null;
    }
    const tenant = await createTenant(tx, orgName ?? 'Sigil');
    return (await createApiKey(tx, tenant.id, 'default', 'live')).key;
  });
}
