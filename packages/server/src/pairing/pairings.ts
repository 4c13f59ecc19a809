import { createHash, randomInt, randomUUID, timingSafeEqual } from 'node:crypto';
import { DomainTag, fingerprintOf, isFresh, verifyPayload } from '@sigilauth/protocol';
import type { DeviceAttestation, Pairing, PairingProof } from '@sigilauth/protocol/wire';
import { appendAudit } from '../audit/log.js';
import { recordEvent } from '../events/outbox.js';
import { ApiError, notFound } from '../http/errors.js';
import type { Database, Queryable } from '../storage/database.js';
import { admitCodeAttempt } from './failure-budget.js';

export const PAIRING_TTL_MS = 5 * 60_000;
/** Wrong codes naming one pairing (by its locator) before it is burned. */
export const PAIRING_MAX_FAILURES = 3;
/** Open pairings one organisation may hold at once. */
export const PAIRING_MAX_OPEN_PER_ORG = 100;
const LOCATOR_DIGITS = 4;
const LOCATOR_SPACE = 10 ** LOCATOR_DIGITS;

/**
 * An 8-digit code is a 4-digit locator naming one open pairing, then 4 more digits; the whole code
 * is the secret. Like a magic-wormhole code, a guess is only ever judged against the one pairing
 * its locator names, which burns after PAIRING_MAX_FAILURES wrong codes: so burning someone's
 * code takes knowing its first half, and guessing one succeeds with probability at most
 * PAIRING_MAX_FAILURES / 10^4. The arithmetic, with the network budgets, is in docs/security.md.
 */
function splitCode(code: string): { locator: number; secret: string } | null {
  const digits = code.replace(/[\s-]/g, '');
  if (!/^\d{8}$/.test(digits)) return null;
  return { locator: Number(digits.slice(0, LOCATOR_DIGITS)), secret: digits };
}

const hashCode = (code: string) => createHash('sha256').update(`sigil-pairing-code\0${code}`).digest();

export interface PairingRow {
  id: string;
  tenant_id: string;
  name_hint: string | null;
  status: 'pending' | 'completed' | 'expired';
  expires_at: Date;
  created_at: Date;
  completed_at: Date | null;
  fingerprint: string | null;
  failed_attempts: number;
}

export async function createPairing(
  db: Database,
  tenantId: string,
  nameHint: string | null,
  now: number,
): Promise<{ pairing: PairingRow; code: string }> {
  await db.query(`UPDATE pairings SET status = 'expired' WHERE status = 'pending' AND expires_at <= $1`, [new Date(now)]);
  const created = await db.transaction(async (tx) => {
    // The tenant row lock makes the count and the insert one step for every instance; NO KEY
    // UPDATE, so that it does not hold up the organisation's other writes (their foreign keys).
    await tx.query('SELECT 1 FROM tenants WHERE id = $1 FOR NO KEY UPDATE', [tenantId]);
    const [open] = await tx.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pairings WHERE tenant_id = $1 AND status = 'pending' AND expires_at > $2`,
      [tenantId, new Date(now)],
    );
    if (open!.n >= PAIRING_MAX_OPEN_PER_ORG) {
      throw new ApiError(
        'too_many_pairings',
        `this organisation already has ${PAIRING_MAX_OPEN_PER_ORG} open pairing codes; wait until some are used or expire (5 minutes)`,
      );
    }
    for (let attempt = 0; attempt < 20; attempt++) {
      const locator = randomInt(LOCATOR_SPACE);
      const code = `${String(locator).padStart(LOCATOR_DIGITS, '0')}${String(randomInt(10_000)).padStart(4, '0')}`;
      const [row] = await tx.query<PairingRow>(
        `INSERT INTO pairings (id, tenant_id, name_hint, locator, code_hash, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (locator) WHERE status = 'pending' DO NOTHING
         RETURNING id, tenant_id, name_hint, status, expires_at, created_at, completed_at, fingerprint, failed_attempts`,
        [randomUUID(), tenantId, nameHint, locator, hashCode(code), new Date(now + PAIRING_TTL_MS), new Date(now)],
      );
      if (!row) continue;
      await appendAudit(tx, tenantId, 'pairing.created', { pairing_id: row.id, name_hint: nameHint });
      return { pairing: row, code };
    }
    return null;
  });
  if (!created) throw new ApiError('pairing_capacity', 'too many pairings are open on this server; try again shortly');
  return created;
}

export async function getPairing(db: Queryable, tenantId: string, id: string, now: number): Promise<Pairing> {
  const [row] = await db.query<PairingRow & { device_name: string | null; public_key: string | null }>(
    `SELECT p.id, p.tenant_id, p.name_hint, p.status, p.expires_at, p.created_at, p.completed_at, p.fingerprint, p.failed_attempts,
            d.name AS device_name, d.public_key
       FROM pairings p LEFT JOIN devices d ON d.tenant_id = p.tenant_id AND d.fingerprint = p.fingerprint
      WHERE p.id = $1 AND p.tenant_id = $2`,
    [id, tenantId],
  );
  if (!row) throw notFound('pairing');
  const status = row.status === 'pending' && row.expires_at.getTime() <= now ? 'expired' : row.status;
  return {
    pairing_id: row.id,
    status,
    name: row.device_name ?? row.name_hint,
    expires_at: row.expires_at.toISOString(),
    created_at: row.created_at.toISOString(),
    ...(status === 'completed' && row.completed_at && row.fingerprint && row.public_key
      ? { completed_at: row.completed_at.toISOString(), fingerprint: row.fingerprint, device_public_key: row.public_key }
      : {}),
  };
}

const WRONG_CODE = () => new ApiError('invalid_code', 'the pairing code is wrong, expired or already used');

interface OpenPairing {
  id: string;
  tenant_id: string;
  name_hint: string | null;
  expires_at: Date;
}

/**
 * Finds the open pairing a code names, inside the caller's transaction and with its row locked.
 * A wrong secret is counted against that pairing (burning it after PAIRING_MAX_FAILURES), so the
 * caller must commit even when this returns null, and throw WRONG_CODE only after the commit.
 */
async function lockPairingByCode(tx: Queryable, code: string, now: number): Promise<OpenPairing | null> {
  const parsed = splitCode(code);
  if (!parsed) return null;
  const [pairing] = await tx.query<PairingRow & { code_hash: Buffer }>(
    `SELECT id, tenant_id, name_hint, expires_at, code_hash, failed_attempts FROM pairings WHERE locator = $1 AND status = 'pending' FOR UPDATE`,
    [parsed.locator],
  );
  if (!pairing) return null;
  if (pairing.expires_at.getTime() <= now) {
    await tx.query(`UPDATE pairings SET status = 'expired' WHERE id = $1`, [pairing.id]);
    return null;
  }
  if (!timingSafeEqual(Buffer.from(pairing.code_hash), hashCode(parsed.secret))) {
    const burned = pairing.failed_attempts + 1 >= PAIRING_MAX_FAILURES;
    await tx.query(
      `UPDATE pairings SET failed_attempts = failed_attempts + 1, status = CASE WHEN $2 THEN 'expired' ELSE status END WHERE id = $1`,
      [pairing.id, burned],
    );
    return null;
  }
  return { id: pairing.id, tenant_id: pairing.tenant_id, name_hint: pairing.name_hint, expires_at: pairing.expires_at };
}

/**
 * Judges a code under the client's failure budgets: `judge` returns null for a wrong code (after
 * committing what a wrong guess costs the pairing), which is then also charged to the client's
 * networks and answered `400 invalid_code`.
 */
async function withCodeBudget<T>(
  db: Database,
  code: string,
  clientAddress: string,
  now: number,
  judge: () => Promise<T | null>,
): Promise<T> {
  if (!splitCode(code)) throw WRONG_CODE();
  const attempt = await admitCodeAttempt(db, clientAddress, now);
  let outcome: T | null;
  try {
    outcome = await judge();
  } catch (err) {
    // Not a wrong code (a key already paired, storage down…): give the reservation back if we can; it drains anyway.
    await attempt.settle().catch(() => {});
    throw err;
  }
  if (outcome === null) {
    await attempt.fail();
    throw WRONG_CODE();
  }
  await attempt.settle();
  return outcome;
}

/**
 * Checks a code without using it (a wrong guess still counts): the web approver asks before it
 * has the person create a passkey, then completes with completePairingForKey.
 */
export async function checkPairingCode(db: Database, code: string, clientAddress: string, now: number) {
  return withCodeBudget(db, code, clientAddress, now, () =>
    db.transaction(async (tx) => {
      const pairing = await lockPairingByCode(tx, code, now);
      if (!pairing) return null;
      const [row] = await tx.query<{ name_hint: string | null; org_name: string }>(
        'SELECT p.name_hint, t.name AS org_name FROM pairings p JOIN tenants t ON t.id = p.tenant_id WHERE p.id = $1',
        [pairing.id],
      );
      return {
        pairing_id: pairing.id,
        tenant_id: pairing.tenant_id,
        expires_at: pairing.expires_at,
        name_hint: row!.name_hint,
        org_name: row!.org_name,
      };
    }),
  );
}

export interface PairingKey {
  publicKey: string;
  fingerprint: string;
  name: string;
  /** Null for a software key; what a passkey's attestation proved otherwise. */
  attestation: DeviceAttestation | null;
  /** Runs inside the completing transaction, after the code matched (e.g. stores the passkey). */
  onPaired?: (tx: Queryable, pairing: { id: string; tenant_id: string }) => Promise<void>;
}

const alreadyPaired = () =>
  new ApiError(
    'device_already_paired',
    'this device key is already paired on this server (or was, and has been revoked): a key belongs to one organisation for good; pair with a new key',
  );

/** Uses a pairing code for a key whose possession the caller has verified, and pairs the device. */
export async function completePairingForKey(db: Database, code: string, key: PairingKey, clientAddress: string, now: number) {
  return withCodeBudget(db, code, clientAddress, now, () =>
    db.transaction(async (tx) => {
      const pairing = await lockPairingByCode(tx, code, now);
      // A wrong guess must be counted even though the request fails: returning null commits it.
      if (!pairing) return null;
      // The approver's own name wins; without one, the name the administrator gave the pairing.
      const name = key.name.trim() || pairing.name_hint || 'Unnamed device';
      // Never an upsert: a key seen before, in any organisation and revoked or not, stays where it is.
      const [inserted] = await tx.query(
        `INSERT INTO devices (tenant_id, fingerprint, public_key, name, paired_at, attestation) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (fingerprint) DO NOTHING RETURNING 1 AS inserted`,
        [
          pairing.tenant_id,
          key.fingerprint,
          key.publicKey,
          name,
          new Date(now),
          key.attestation === null ? null : JSON.stringify(key.attestation),
        ],
      );
      if (!inserted) throw alreadyPaired();
      await tx.query(`UPDATE pairings SET status = 'completed', completed_at = $2, fingerprint = $3 WHERE id = $1`, [
        pairing.id,
        new Date(now),
        key.fingerprint,
      ]);
      await key.onPaired?.(tx, pairing);
      const device = { fingerprint: key.fingerprint, device_public_key: key.publicKey, name };
      await appendAudit(tx, pairing.tenant_id, 'device.paired', {
        pairing_id: pairing.id,
        ...device,
        ...(key.attestation ? { attestation: key.attestation } : {}),
      });
      await recordEvent(tx, pairing.tenant_id, 'device.paired', {
        ...device,
        pairing_id: pairing.id,
        timestamp: new Date(now).toISOString(),
      });
      const [tenant] = await tx.query<{ name: string }>('SELECT name FROM tenants WHERE id = $1', [pairing.tenant_id]);
      return { pairing_id: pairing.id, tenant_id: pairing.tenant_id, org_name: tenant!.name, ...device };
    }),
  );
}

/** Completes a pairing for a device that proved possession of its key over the code. */
export async function completePairing(
  db: Database,
  serverId: string,
  proof: PairingProof,
  signature: string,
  clientAddress: string,
  now: number,
) {
  if (proof.purpose !== 'pairing') throw new ApiError('invalid_request', 'payload.purpose must be "pairing"');
  if (proof.server_id !== serverId) throw new ApiError('wrong_server', 'the pairing proof was signed for another server');
  if (!isFresh(proof.issued_at, now)) throw new ApiError('stale_signature', 'payload.issued_at is too far from the server clock');
  let fingerprint: string;
  try {
    fingerprint = fingerprintOf(proof.device_public_key);
  } catch {
    throw new ApiError('invalid_request', 'device_public_key must be a 33-byte compressed P-256 point in standard base64');
  }
  if (fingerprint !== proof.fingerprint) throw new ApiError('fingerprint_mismatch', 'fingerprint does not match device_public_key');
  if (!verifyPayload(DomainTag.pairing, proof, signature, proof.device_public_key)) {
    throw new ApiError('invalid_signature', 'the pairing proof signature does not verify');
  }
  return completePairingForKey(
    db,
    proof.code,
    { publicKey: proof.device_public_key, fingerprint, name: proof.name, attestation: null },
    clientAddress,
    now,
  );
}
