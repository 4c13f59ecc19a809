-- Webhook endpoints, their per-event deliveries and every delivery attempt; and the
-- tamper-evident audit log (RFC 6962 leaves, per-tenant tree state, signed tree heads).

CREATE TABLE webhook_endpoints (
  id uuid PRIMARY KEY,
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  url text NOT NULL,
  description text,
  -- Event types delivered; NULL means every type.
  events text[],
  secret text NOT NULL,
  -- The secret before the last rotation, still used to sign until previous_secret_expires_at.
  previous_secret text,
  previous_secret_expires_at timestamptz,
  enabled boolean NOT NULL DEFAULT true,
  disabled_reason text,
  disabled_at timestamptz,
  -- Deliveries that failed for good in a row, and when the current run of failed attempts began.
  consecutive_failures integer NOT NULL DEFAULT 0,
  failing_since timestamptz,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id, created_at);

CREATE TABLE webhook_deliveries (
  id uuid PRIMARY KEY,
  -- Per-endpoint-and-request order: a later event waits while an earlier one is pending.
  seq bigserial NOT NULL,
  endpoint_id uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  event_id text NOT NULL REFERENCES events (id),
  event_type text NOT NULL,
  request_id uuid,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
  -- Attempts claimed so far; also the fencing token of the current lease.
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL,
  -- A claimed (in-flight) delivery is leased to one worker until then; an expired lease is reclaimed.
  locked_until timestamptz,
  -- A manual retry gets exactly one attempt.
  manual boolean NOT NULL DEFAULT false,
  last_attempt_at timestamptz,
  last_status_code integer,
  last_error text,
  created_at timestamptz NOT NULL,
  completed_at timestamptz,
  UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, seq) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (endpoint_id, request_id, seq) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, seq);

CREATE TABLE webhook_attempts (
  delivery_id uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
  attempt integer NOT NULL,
  started_at timestamptz NOT NULL,
  -- The HTTP status; NULL when no response arrived (refused, network error, timeout).
  status_code integer,
  latency_ms integer NOT NULL,
  error text,
  PRIMARY KEY (delivery_id, attempt)
);

-- Audit log: the integrator gives each entry, once, its position in the tenant's Merkle tree.
ALTER TABLE audit_entries ADD COLUMN leaf_index bigint;
ALTER TABLE audit_entries ADD COLUMN leaf_hash bytea;
ALTER TABLE audit_entries ALTER COLUMN created_at SET DEFAULT date_trunc('milliseconds', now());
CREATE UNIQUE INDEX audit_entries_leaf ON audit_entries (tenant_id, leaf_index);
CREATE INDEX audit_entries_unintegrated ON audit_entries (tenant_id, id) WHERE leaf_index IS NULL;
CREATE INDEX audit_entries_request ON audit_entries (tenant_id, request_id) WHERE request_id IS NOT NULL;

-- One row per tenant: the integrated size, its root and the compact range (the roots of the
-- perfect subtrees, largest first, lower-case hex) from which the next root is computed without reading leaves.
CREATE TABLE audit_logs (
  tenant_id uuid PRIMARY KEY REFERENCES tenants (id),
  tree_size bigint NOT NULL DEFAULT 0,
  root_hash bytea NOT NULL,
  frontier text[] NOT NULL DEFAULT '{}',
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE audit_tree_heads (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  tree_size bigint NOT NULL,
  root_hash bytea NOT NULL,
  -- Unix milliseconds, as signed.
  signed_at_ms bigint NOT NULL,
  server_id text NOT NULL,
  signature text NOT NULL,
  PRIMARY KEY (tenant_id, tree_size)
);
