-- A device key belongs to exactly one organisation, for good: once paired (and even once revoked)
-- it can never be paired again, by that organisation or any other.

-- Before this rule a key could be paired with several organisations. It stays with the one that
-- paired it first (a key's public half is only seen after its holder paired it); every later
-- pairing of it is removed, and the organisation that made it is told in its audit log.
INSERT INTO audit_entries (tenant_id, type, data)
SELECT d.tenant_id, 'device.revoked',
       jsonb_build_object('fingerprint', d.fingerprint, 'name', d.name,
                          'reason', 'this key was paired with another organisation first; a device key belongs to one organisation')
  FROM devices d
 WHERE EXISTS (SELECT 1 FROM devices earlier WHERE earlier.fingerprint = d.fingerprint AND (earlier.paired_at, earlier.tenant_id) < (d.paired_at, d.tenant_id));

DELETE FROM approver_sessions s USING devices d
 WHERE d.tenant_id = s.tenant_id AND d.fingerprint = s.fingerprint
   AND EXISTS (SELECT 1 FROM devices earlier WHERE earlier.fingerprint = d.fingerprint AND (earlier.paired_at, earlier.tenant_id) < (d.paired_at, d.tenant_id));

DELETE FROM devices d
 WHERE EXISTS (SELECT 1 FROM devices earlier WHERE earlier.fingerprint = d.fingerprint AND (earlier.paired_at, earlier.tenant_id) < (d.paired_at, d.tenant_id));

DROP INDEX devices_fingerprint;
CREATE UNIQUE INDEX devices_one_organisation ON devices (fingerprint);

-- A code now names its pairing by its first 4 digits (3 before): codes opened before this
-- migration must be opened again.
UPDATE pairings SET status = 'expired' WHERE status = 'pending';

-- Open pairings per organisation are capped; this keeps counting them cheap.
CREATE INDEX pairings_open_by_tenant ON pairings (tenant_id) WHERE status = 'pending';

-- Budgets of wrong pairing codes, shared by every instance: one leaky bucket per client network
-- (IPv4 /24 and /16, IPv6 /64 and /48) and one for the whole server. `level` is the number of
-- recent failures (draining at a fixed rate since `updated_at`).
CREATE TABLE pairing_failure_buckets (
  key text PRIMARY KEY,
  level double precision NOT NULL,
  updated_at timestamptz NOT NULL,
  last_failure_at timestamptz
);
CREATE INDEX pairing_failure_buckets_updated ON pairing_failure_buckets (updated_at);

-- A passkey pairing proves possession of the new passkey: an assertion by it over this second
-- challenge, issued with the registration challenge and used up with it.
ALTER TABLE webauthn_challenges ADD COLUMN proof_challenge text;
