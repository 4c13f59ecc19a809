import { randomBytes, randomUUID } from 'node:crypto';
import type { Database, Queryable } from '../storage/database.js';

/** A passkey as stored: its key in both encodings, the RP it was made for and its signature counter. */
export interface CredentialRow {
  fingerprint: string;
  credential_id: string;
  public_key: string;
  cose_public_key: Uint8Array;
  rp_id: string;
  sign_count: number;
}

const COLUMNS = 'fingerprint, credential_id, public_key, cose_public_key, rp_id, sign_count::float8 AS sign_count';

export async function findCredentialByFingerprint(db: Queryable, fingerprint: string): Promise<CredentialRow | null> {
  const [row] = await db.query<CredentialRow>(`SELECT ${COLUMNS} FROM webauthn_credentials WHERE fingerprint = $1`, [fingerprint]);
  return row ?? null;
}

export async function findCredentialById(db: Queryable, credentialId: string): Promise<CredentialRow | null> {
  const [row] = await db.query<CredentialRow>(`SELECT ${COLUMNS} FROM webauthn_credentials WHERE credential_id = $1`, [credentialId]);
  return row ?? null;
}

/** Stores a new passkey; false when its credential id or key is already stored (never replaced). */
export async function insertCredential(
  tx: Queryable,
  c: Omit<CredentialRow, 'sign_count'> & { sign_count: number; transports: string[] | undefined },
  now: number,
): Promise<boolean> {
  const rows = await tx.query(
    `INSERT INTO webauthn_credentials (fingerprint, credential_id, public_key, cose_public_key, rp_id, sign_count, transports, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING 1`,
    [
      c.fingerprint,
      c.credential_id,
      c.public_key,
      Buffer.from(c.cose_public_key),
      c.rp_id,
      c.sign_count,
      c.transports ? JSON.stringify(c.transports) : null,
      new Date(now),
    ],
  );
  return rows.length === 1;
}

/**
 * Records a use of the passkey. An authenticator that counts must show a larger count each time;
 * one that always reports 0 (most synced passkeys) cannot be checked this way, and replays are
 * then stopped by each assertion's challenge being good for one thing only. False when the count
 * did not increase: a replayed assertion or a cloned authenticator.
 */
export async function advanceSignCount(db: Queryable, fingerprint: string, counter: number, now: number): Promise<boolean> {
  const rows = await db.query(
    `UPDATE webauthn_credentials SET sign_count = GREATEST(sign_count, $2::bigint), last_used_at = $3
      WHERE fingerprint = $1 AND ($2::bigint > sign_count OR ($2::bigint = 0 AND sign_count = 0)) RETURNING 1`,
    [fingerprint, counter, new Date(now)],
  );
  return rows.length === 1;
}

/** Stored challenges are for pairing a passkey only (a pairing code gets one); sign-in challenges are stateless (session-challenges.ts). */
export type ChallengePurpose = 'registration';

const freshChallenge = () => randomBytes(32).toString('base64url');

/**
 * A fresh single-use WebAuthn challenge (32 random bytes, base64url), remembered until it expires.
 * A registration gets a second one, `proofChallenge`, that the new passkey must sign before the
 * pairing completes.
 */
export async function issueChallenge(
  db: Database,
  purpose: ChallengePurpose,
  pairingId: string | null,
  ttlMs: number,
  now: number,
): Promise<{ id: string; challenge: string; proofChallenge: string | null; expiresAt: Date }> {
  await db.query('DELETE FROM webauthn_challenges WHERE expires_at < $1', [new Date(now - 3_600_000)]);
  const id = randomUUID();
  const challenge = freshChallenge();
  const proofChallenge = purpose === 'registration' ? freshChallenge() : null;
  const expiresAt = new Date(now + ttlMs);
  await db.query(
    'INSERT INTO webauthn_challenges (id, purpose, challenge, pairing_id, expires_at, proof_challenge) VALUES ($1, $2, $3, $4, $5, $6)',
    [id, purpose, challenge, pairingId, expiresAt, proofChallenge],
  );
  return { id, challenge, proofChallenge, expiresAt };
}

/** Uses a challenge up: null when it does not exist, is for something else, expired or was used. */
export async function consumeChallenge(
  db: Queryable,
  id: string,
  purpose: ChallengePurpose,
  now: number,
): Promise<{ challenge: string; pairing_id: string | null; proof_challenge: string | null } | null> {
  const [row] = await db.query<{ challenge: string; pairing_id: string | null; proof_challenge: string | null }>(
    `UPDATE webauthn_challenges SET used_at = $3 WHERE id = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3 RETURNING challenge, pairing_id, proof_challenge`,
    [id, purpose, new Date(now)],
  );
  return row ?? null;
}
