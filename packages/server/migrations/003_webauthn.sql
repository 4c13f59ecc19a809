-- Web approvers: passkeys (WebAuthn credentials), device attestation, browser sessions.

-- How a device's key is held and what vouches for it:
--   NULL: a software key that signs raw ECDSA (sigil-device), listed as { "format": "software", "verified": false }.
--   { "format", "aaguid", "model"?, "verified" }: a passkey, with what its attestation proved.
ALTER TABLE devices ADD COLUMN attestation jsonb;

-- One row per passkey. A passkey's P-256 key is its device key, so the fingerprint names it.
CREATE TABLE webauthn_credentials (
  fingerprint text PRIMARY KEY,
  credential_id text NOT NULL UNIQUE,
  public_key text NOT NULL,
  cose_public_key bytea NOT NULL,
  rp_id text NOT NULL,
  sign_count bigint NOT NULL DEFAULT 0,
  transports jsonb,
  created_at timestamptz NOT NULL,
  last_used_at timestamptz
);

-- Single-use WebAuthn challenges the server issued: a passkey registration bound to one pairing,
-- or a sign-in that opens a browser session.
CREATE TABLE webauthn_challenges (
  id uuid PRIMARY KEY,
  purpose text NOT NULL CHECK (purpose IN ('registration', 'session')),
  challenge text NOT NULL,
  pairing_id uuid REFERENCES pairings (id),
  expires_at timestamptz NOT NULL,
  used_at timestamptz
);
CREATE INDEX webauthn_challenges_expiry ON webauthn_challenges (expires_at);

-- Browser sessions of web approvers. Only the SHA-256 of the cookie's token is stored.
CREATE TABLE approver_sessions (
  token_hash bytea PRIMARY KEY,
  tenant_id uuid NOT NULL,
  fingerprint text NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  FOREIGN KEY (tenant_id, fingerprint) REFERENCES devices (tenant_id, fingerprint)
);
CREATE INDEX approver_sessions_expiry ON approver_sessions (expires_at);
