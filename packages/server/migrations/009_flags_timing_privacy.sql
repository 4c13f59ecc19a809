-- Governance (docs/governance.md): anomaly flags on approvers' decisions, and timing privacy
-- (decisions released at batch boundaries).

-- An organisation's governance settings; an organisation without a row has the defaults.
-- time_zone is the zone "hour of day" is read in for devices that set none of their own.
CREATE TABLE governance_settings (
  tenant_id uuid PRIMARY KEY REFERENCES tenants (id),
  time_zone text NOT NULL DEFAULT 'UTC',
  rubber_stamp_seconds integer NOT NULL DEFAULT 5,
  burst_requests integer NOT NULL DEFAULT 5,
  burst_minutes integer NOT NULL DEFAULT 10,
  new_hour_min_history integer NOT NULL DEFAULT 10,
  flagged_approval_requires_extra_group boolean NOT NULL DEFAULT false,
  -- Timing privacy: decisions are released at multiples of this many seconds (null: at once);
  -- a denial ends its request at once when release_deny_immediately.
  release_batch_seconds integer,
  release_deny_immediately boolean NOT NULL DEFAULT false,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- A device's own time zone (null: its organisation's).
ALTER TABLE devices ADD COLUMN time_zone text;

-- Where each decision came from (the client's /24 or /64, and its kind and user agent without
-- versions), and whether it was a flagged approval that raised its request's quorum by a group.
-- Decisions recorded before this migration have no context and raise nothing.
ALTER TABLE mpa_decisions ADD COLUMN network text;
ALTER TABLE mpa_decisions ADD COLUMN client text;
ALTER TABLE mpa_decisions ADD COLUMN raises_required boolean NOT NULL DEFAULT false;
CREATE INDEX mpa_decisions_device_history ON mpa_decisions (fingerprint, decided_at);

-- The quorum a request now needs when a flagged approval raised it (null: its own `required`).
ALTER TABLE mpa_requests ADD COLUMN effective_required integer;

-- One row per anomaly a decision raised.
CREATE TABLE mpa_flags (
  id bigserial PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  request_id uuid NOT NULL REFERENCES mpa_requests (id),
  fingerprint text NOT NULL,
  group_index integer NOT NULL,
  decision text NOT NULL CHECK (decision IN ('approve', 'deny')),
  kind text NOT NULL CHECK (kind IN ('new_hour', 'rubber_stamp', 'new_network', 'new_client', 'approval_burst')),
  details jsonb NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE INDEX mpa_flags_request ON mpa_flags (request_id, id);
CREATE INDEX mpa_flags_device ON mpa_flags (tenant_id, fingerprint, id DESC);

-- Timing privacy: a decision recorded but not yet released is `held` (with the flags it raised,
-- recorded on release); its request is released at `release_due_at` by whichever instance claims it.
ALTER TABLE mpa_decisions ADD COLUMN held boolean NOT NULL DEFAULT false;
ALTER TABLE mpa_decisions ADD COLUMN held_flags jsonb;
ALTER TABLE mpa_requests ADD COLUMN release_due_at timestamptz;
CREATE INDEX mpa_requests_release_due ON mpa_requests (release_due_at) WHERE release_due_at IS NOT NULL;
