/**
 * Sign-in challenges, kept by no one until they are used: anyone may ask for one, so issuing one
 * writes nothing. A challenge is its expiry and a MAC of it with its id under the server's key
 * (the same on every instance); a sign-in presents it back inside its assertion, where the
 * server checks the MAC and the expiry before the signature. Only a sign-in whose passkey
 * assertion verified is written down, once, so that the challenge cannot sign in twice.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { ServerIdentity } from '../identity/server-identity.js';
import type { Queryable } from '../storage/database.js';

const MAC_PURPOSE = 'webauthn-session-challenge';
const EXPIRY_BYTES = 8;

const macOf = (identity: ServerIdentity, id: string, expiresAt: number) => identity.mac(MAC_PURPOSE, `${id}\0${expiresAt}`);

export function issueSessionChallenge(identity: ServerIdentity, ttlMs: number, now: number): { id: string; challenge: string } {
  const id = randomUUID();
  const expiresAt = now + ttlMs;
  const expiry = Buffer.alloc(EXPIRY_BYTES);
  expiry.writeBigUInt64BE(BigInt(expiresAt));
  return { id, challenge: Buffer.concat([expiry, macOf(identity, id, expiresAt)]).toString('base64url') };
}

/** When `challenge` is the one this server issued for `id` and it has not expired: its expiry. Null otherwise. */
export function sessionChallengeExpiry(identity: ServerIdentity, id: string, challenge: string, now: number): number | null {
  const raw = Buffer.from(challenge, 'base64url');
  if (raw.length !== EXPIRY_BYTES + 32 || raw.toString('base64url') !== challenge) return null;
  const expiresAt = Number(raw.readBigUInt64BE(0));
  if (!Number.isSafeInteger(expiresAt) || expiresAt <= now) return null;
  return timingSafeEqual(raw.subarray(EXPIRY_BYTES), macOf(identity, id, expiresAt)) ? expiresAt : null;
}

/** Records a verified sign-in's challenge as used; false when it was used already. */
export async function useSessionChallenge(db: Queryable, id: string, expiresAt: number, now: number): Promise<boolean> {
  await db.query('DELETE FROM webauthn_challenges WHERE expires_at < $1', [new Date(now - 3_600_000)]);
  const rows = await db.query(
    `INSERT INTO webauthn_challenges (id, purpose, challenge, expires_at, used_at) VALUES ($1, 'session', '', $2, $3)
     ON CONFLICT (id) DO NOTHING RETURNING 1`,
    [id, new Date(expiresAt), new Date(now)],
  );
  return rows.length === 1;
}
