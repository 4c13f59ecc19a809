CREATE TABLE server_identity (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  private_key_pem text NOT NULL,
  public_key text NOT NULL,
  server_id text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tenants (
  id uuid PRIMARY KEY,
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  name text NOT NULL,
  mode text NOT NULL CHECK (mode IN ('live', 'test')),
  key_hash bytea NOT NULL UNIQUE,
  prefix text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);

CREATE TABLE pairings (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  name_hint text,
  locator integer NOT NULL,
  code_hash bytea NOT NULL,
  failed_attempts integer NOT NULL DEFAULT 0,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'completed', 'expired')),
  expires_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz,
  fingerprint text
);
CREATE UNIQUE INDEX pairings_open_locator ON pairings (locator) WHERE status = 'pending';
CREATE INDEX pairings_tenant ON pairings (tenant_id, created_at);

CREATE TABLE devices (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  fingerprint text NOT NULL,
  public_key text NOT NULL,
  name text NOT NULL,
  paired_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz,
  PRIMARY KEY (tenant_id, fingerprint)
);
CREATE INDEX devices_fingerprint ON devices (fingerprint);

CREATE TABLE mpa_requests (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  required integer NOT NULL,
  groups jsonb NOT NULL,
  action json NOT NULL,
  action_digest text NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected', 'timeout', 'cancelled')),
  groups_satisfied jsonb NOT NULL DEFAULT '[]',
  expires_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL,
  completed_at timestamptz,
  idempotency_key text,
  body_hash text,
  UNIQUE (tenant_id, idempotency_key)
);
CREATE INDEX mpa_requests_pending_expiry ON mpa_requests (expires_at) WHERE status = 'pending';
CREATE INDEX mpa_requests_tenant_list ON mpa_requests (tenant_id, created_at DESC, id DESC);

CREATE TABLE mpa_approvers (
  request_id uuid NOT NULL REFERENCES mpa_requests (id),
  fingerprint text NOT NULL,
  group_index integer NOT NULL,
  PRIMARY KEY (request_id, fingerprint)
);
CREATE INDEX mpa_approvers_fingerprint ON mpa_approvers (fingerprint);

CREATE TABLE mpa_decisions (
  request_id uuid NOT NULL REFERENCES mpa_requests (id),
  fingerprint text NOT NULL,
  group_index integer NOT NULL,
  decision text NOT NULL CHECK (decision IN ('approve', 'deny')),
  payload jsonb NOT NULL,
  signature text NOT NULL,
  seq bigserial NOT NULL,
  decided_at timestamptz NOT NULL,
  PRIMARY KEY (request_id, fingerprint)
);

CREATE TABLE audit_entries (
  id bigserial PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  type text NOT NULL,
  request_id uuid,
  data jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_entries_tenant ON audit_entries (tenant_id, id);

CREATE TABLE events (
  id text PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  type text NOT NULL,
  request_id uuid,
  payload jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_tenant ON events (tenant_id, created_at);
