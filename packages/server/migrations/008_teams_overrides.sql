-- Governance (docs/governance.md): approval teams, requester exclusion and break-glass overrides.

-- A named set of an organisation's devices that a request's group can name instead of listing
-- approvers. A request freezes the team's active members when it is created.
CREATE TABLE teams (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  slug text NOT NULL,
  name text NOT NULL,
  min_members integer NOT NULL DEFAULT 1 CHECK (min_members BETWEEN 1 AND 50),
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, slug)
);

-- A revoked device stays listed (shown as revoked) but is never resolved into a request;
-- forgetting a device's pairing removes it.
CREATE TABLE team_members (
  tenant_id uuid NOT NULL,
  slug text NOT NULL,
  fingerprint text NOT NULL,
  added_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, slug, fingerprint),
  FOREIGN KEY (tenant_id, slug) REFERENCES teams (tenant_id, slug) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, fingerprint) REFERENCES devices (tenant_id, fingerprint) ON DELETE CASCADE
);

-- The person (or account) a device belongs to, as the integrator names them: a request that names
-- its requester never counts that person's devices.
ALTER TABLE devices ADD COLUMN owner_id text;
CREATE INDEX devices_owner ON devices (tenant_id, owner_id) WHERE owner_id IS NOT NULL;

-- Who asked for a request, when the request names them: { "fingerprint": … } or { "id": … }.
ALTER TABLE mpa_requests ADD COLUMN requested_by jsonb;

-- An organisation's break-glass settings. Overrides are off until review teams are chosen.
CREATE TABLE override_settings (
  tenant_id uuid PRIMARY KEY REFERENCES tenants (id),
  enabled boolean NOT NULL DEFAULT false,
  daily_limit integer CHECK (daily_limit IS NULL OR daily_limit BETWEEN 1 AND 1000),
  review_teams text[] NOT NULL DEFAULT '{}',
  review_required integer NOT NULL DEFAULT 1 CHECK (review_required >= 1),
  review_expires_in_seconds integer NOT NULL DEFAULT 900,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- An emergency action performed without approval, with the post-facto review request created in
-- the same transaction.
CREATE TABLE overrides (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  reason text NOT NULL,
  action jsonb NOT NULL,
  requested_by jsonb,
  review_request_id uuid NOT NULL UNIQUE REFERENCES mpa_requests (id),
  created_at timestamptz NOT NULL,
  reviewed_at timestamptz
);
CREATE INDEX overrides_tenant_recent ON overrides (tenant_id, created_at DESC, id DESC);
