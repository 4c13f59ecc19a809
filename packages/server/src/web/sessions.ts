import { createHash, randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../http/errors.js';
import { announceSessionClosed } from '../events/bus.js';
import type { Database, Queryable } from '../storage/database.js';

/**
 * Browser sessions of web approvers. A session is opened only by a passkey ceremony (the
 * pairing registration, or a sign-in assertion over a fresh server challenge) and names one
 * device. The cookie holds 32 random bytes; the database holds only their SHA-256, so a read of
 * the database does not yield a usable session. The cookie is HttpOnly, SameSite=Strict, scoped
 * to /approve, and Secure whenever the page is served over https. A session only lets the page
 * read the device's requests; every decision still needs its own passkey assertion.
 */
export const SESSION_COOKIE = 'sigil_approver';
export const SESSION_TTL_MS = 12 * 3_600_000;

export interface ApproverSession {
  tenantId: string;
  fingerprint: string;
  /** Names the session to the server (the hex of its stored hash), never to be confused with its token. */
  id: string;
  expiresAt: number;
}

const hashToken = (token: string) => createHash('sha256').update(`sigil-approver-session\0${token}`).digest();

export async function openSession(db: Database, tenantId: string, fingerprint: string, now: number): Promise<string> {
  await db.query('DELETE FROM approver_sessions WHERE expires_at < $1', [new Date(now)]);
  const token = randomBytes(32).toString('base64url');
  await db.query('INSERT INTO approver_sessions (token_hash, tenant_id, fingerprint, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)', [
    hashToken(token),
    tenantId,
    fingerprint,
    new Date(now),
    new Date(now + SESSION_TTL_MS),
  ]);
  return token;
}

/** Ends a session; its event streams, on every instance, end with it. */
export async function closeSession(db: Database, token: string): Promise<void> {
  await db.transaction(async (tx) => {
    const closed = await tx.query<{ tenant_id: string }>('DELETE FROM approver_sessions WHERE token_hash = $1 RETURNING tenant_id', [
      hashToken(token),
    ]);
    for (const { tenant_id } of closed)
      await announceSessionClosed(tx, { tenantId: tenant_id, sessionId: hashToken(token).toString('hex') });
  });
}

/** The session a cookie names, if it is current and its device is still paired and not revoked. */
export async function findSession(db: Queryable, token: string, now: number): Promise<ApproverSession | null> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
  const [row] = await db.query<{ tenant_id: string; fingerprint: string; expires_at: Date }>(
    `SELECT s.tenant_id, s.fingerprint, s.expires_at FROM approver_sessions s
       JOIN devices d ON d.tenant_id = s.tenant_id AND d.fingerprint = s.fingerprint AND d.revoked_at IS NULL
      WHERE s.token_hash = $1 AND s.expires_at > $2`,
    [hashToken(token), new Date(now)],
  );
  return row
    ? { tenantId: row.tenant_id, fingerprint: row.fingerprint, id: hashToken(token).toString('hex'), expiresAt: row.expires_at.getTime() }
    : null;
}

export function readCookie(request: FastifyRequest, name: string): string | null {
  const header = request.headers.cookie;
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

export function setSessionCookie(reply: FastifyReply, token: string, secure: boolean): void {
  const attrs = [`${SESSION_COOKIE}=${token}`, 'Path=/approve', 'HttpOnly', 'SameSite=Strict', `Max-Age=${SESSION_TTL_MS / 1000}`];
  if (secure) attrs.push('Secure');
  void reply.header('set-cookie', attrs.join('; '));
}

export function clearSessionCookie(reply: FastifyReply, secure: boolean): void {
  void reply.header('set-cookie', `${SESSION_COOKIE}=; Path=/approve; HttpOnly; SameSite=Strict; Max-Age=0${secure ? '; Secure' : ''}`);
}

export async function requireSession(db: Queryable, request: FastifyRequest, now: number): Promise<ApproverSession> {
  const token = readCookie(request, SESSION_COOKIE);
  const session = token ? await findSession(db, token, now) : null;
  if (!session) throw new ApiError('unauthorized', 'sign in with your passkey');
  return session;
}
