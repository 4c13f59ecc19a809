import type { DeviceAttestation } from '@sigilauth/protocol/wire';
import { appendAudit } from '../audit/log.js';
import { announceDeviceRevoked, announceRequestsChanged } from '../events/bus.js';
import { recordEvent } from '../events/outbox.js';
import { notFound } from '../http/errors.js';
import type { DeviceRef } from '../mpa/requests.js';
import { forgetContacts } from '../notifications/contacts.js';
import type { Database, Queryable } from '../storage/database.js';
import { SOFTWARE_ATTESTATION } from '../webauthn/attestation.js';

interface DeviceRow {
  fingerprint: string;
  public_key: string;
  name: string;
  paired_at: Date;
  revoked_at: Date | null;
  attestation: DeviceAttestation | null;
  owner_id: string | null;
}

const toView = (d: DeviceRow) => ({
  fingerprint: d.fingerprint,
  device_public_key: d.public_key,
  name: d.name,
  paired_at: d.paired_at.toISOString(),
  status: d.revoked_at ? ('revoked' as const) : ('active' as const),
  ...(d.revoked_at ? { revoked_at: d.revoked_at.toISOString() } : {}),
  /** How the key is held: `software` (sigil-device) or a passkey's attestation. */
  attestation: d.attestation ?? SOFTWARE_ATTESTATION,
  /** Who the device belongs to, as the integrator names them (docs/governance.md), or null. */
  owner_id: d.owner_id,
});

export async function listDevices(db: Queryable, tenantId: string) {
  const rows = await db.query<DeviceRow>(
    'SELECT fingerprint, public_key, name, paired_at, revoked_at, attestation, owner_id FROM devices WHERE tenant_id = $1 ORDER BY paired_at, fingerprint',
    [tenantId],
  );
  return rows.map(toView);
}

/** Revokes a device; it can no longer decide anything, including requests already open, and its open connections end. */
export async function revokeDevice(db: Database, tenantId: string, fingerprint: string, now: number) {
  return db.transaction(async (tx) => {
    const [row] = await tx.query<DeviceRow & { was_revoked: boolean }>(
      `UPDATE devices SET revoked_at = coalesce(revoked_at, $3) WHERE tenant_id = $1 AND fingerprint = $2
       RETURNING fingerprint, public_key, name, paired_at, revoked_at, attestation, owner_id, revoked_at <> $3 AS was_revoked`,
      [tenantId, fingerprint, new Date(now)],
    );
    if (!row) throw notFound('device');
    if (!row.was_revoked) {
      // A decision holds its request's lock from before it reads its device until it commits, so
      // locking the device's open requests orders each of its decisions wholly before this
      // revocation, or after it and refused: none is accepted once the revocation is answered.
      const open = await tx.query<{ request_id: string }>(
        `SELECT r.id AS request_id FROM mpa_requests r JOIN mpa_approvers a ON a.request_id = r.id
          WHERE a.fingerprint = $1 AND r.tenant_id = $2 AND r.status = 'pending' ORDER BY r.id FOR UPDATE OF r`,
        [fingerprint, tenantId],
      );
      await appendAudit(tx, tenantId, 'device.revoked', { fingerprint, name: row.name });
      await forgetContacts(tx, tenantId, fingerprint);
      await recordEvent(tx, tenantId, 'device.revoked', { fingerprint, name: row.name, timestamp: new Date(now).toISOString() });
      await announceRequestsChanged(
        tx,
        open.map(({ request_id }) => ({ tenantId, requestId: request_id })),
      );
      await announceDeviceRevoked(tx, { tenantId, fingerprint });
    }
    return toView(row);
  });
}

/**
 * Links a device to its owner (or unlinks it with null): a request that names its requester never
 * counts the requester's devices. Changing it is an audit entry.
 */
export async function setDeviceOwner(db: Database, tenantId: string, fingerprint: string, ownerId: string | null) {
  return db.transaction(async (tx) => {
    const [before] = await tx.query<{ owner_id: string | null }>(
      'SELECT owner_id FROM devices WHERE tenant_id = $1 AND fingerprint = $2 FOR UPDATE',
      [tenantId, fingerprint],
    );
    if (!before) throw notFound('device');
    const [row] = await tx.query<DeviceRow>(
      `UPDATE devices SET owner_id = $3 WHERE tenant_id = $1 AND fingerprint = $2
       RETURNING fingerprint, public_key, name, paired_at, revoked_at, attestation, owner_id`,
      [tenantId, fingerprint, ownerId],
    );
    if (before.owner_id !== ownerId) {
      await appendAudit(tx, tenantId, 'device.owner_set', { fingerprint, owner_id: ownerId, previous_owner_id: before.owner_id });
    }
    return toView(row!);
  });
}

/** The organisation a paired, unrevoked device key belongs to (a key belongs to one), or null. */
export async function pairedDeviceTenant(db: Queryable, fingerprint: string, publicKey: string): Promise<string | null> {
  const [paired] = await db.query<{ tenant_id: string }>(
    'SELECT tenant_id FROM devices WHERE fingerprint = $1 AND public_key = $2 AND revoked_at IS NULL',
    [fingerprint, publicKey],
  );
  return paired?.tenant_id ?? null;
}

/** The organisation of an unrevoked device, by fingerprint (a key belongs to one organisation), or null. */
export async function activeDeviceTenant(db: Queryable, fingerprint: string): Promise<string | null> {
  const [device] = await db.query<{ tenant_id: string }>('SELECT tenant_id FROM devices WHERE fingerprint = $1 AND revoked_at IS NULL', [
    fingerprint,
  ]);
  return device?.tenant_id ?? null;
}

/** A device's name and key with its organisation's name, as the web approver shows them. */
export async function deviceProfile(
  db: Queryable,
  tenantId: string,
  fingerprint: string,
): Promise<{ name: string; public_key: string; org_name: string } | null> {
  const [device] = await db.query<{ name: string; public_key: string; org_name: string }>(
    'SELECT d.name, d.public_key, t.name AS org_name FROM devices d JOIN tenants t ON t.id = d.tenant_id WHERE d.tenant_id = $1 AND d.fingerprint = $2',
    [tenantId, fingerprint],
  );
  return device ?? null;
}

/** Which of these devices have been revoked. */
export async function revokedAmong(db: Queryable, devices: readonly DeviceRef[]): Promise<DeviceRef[]> {
  if (devices.length === 0) return [];
  const rows = await db.query<{ tenant_id: string; fingerprint: string }>(
    `SELECT d.tenant_id, d.fingerprint FROM devices d
       JOIN unnest($1::uuid[], $2::text[]) AS c (tenant_id, fingerprint) ON d.tenant_id = c.tenant_id AND d.fingerprint = c.fingerprint
      WHERE d.revoked_at IS NOT NULL`,
    [devices.map((d) => d.tenantId), devices.map((d) => d.fingerprint)],
  );
  return rows.map((r) => ({ tenantId: r.tenant_id, fingerprint: r.fingerprint }));
}
