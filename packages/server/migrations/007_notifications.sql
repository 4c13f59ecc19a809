-- Notifications reach approvers away from a terminal or an open tab: Web Push, email and Slack
-- (docs/notifications.md).

-- Where each device is reached besides its own connection. Removed with the device's pairing;
-- the push subscription is also dropped on revocation and when the push service says it is gone.
CREATE TABLE device_contacts (
  tenant_id uuid NOT NULL,
  fingerprint text NOT NULL,
  email text,
  slack_webhook_url text,
  push_endpoint text,
  push_p256dh text,
  push_auth text,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, fingerprint),
  FOREIGN KEY (tenant_id, fingerprint) REFERENCES devices (tenant_id, fingerprint) ON DELETE CASCADE
);

-- An organisation's choices: how much of the action leaves the server, and an optional Slack
-- channel told of every request besides the approvers' own contacts.
CREATE TABLE notification_settings (
  tenant_id uuid PRIMARY KEY REFERENCES tenants (id),
  content text NOT NULL DEFAULT 'full' CHECK (content IN ('full', 'title_only')),
  slack_webhook_url text,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- The server's VAPID key pair (RFC 8292), made on first start; racing instances agree on one.
CREATE TABLE vapid_keys (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  public_key text NOT NULL,
  private_key text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- One row per (event, channel, device): created in the transaction of the change that caused it
-- (the outbox), so it exists exactly when the change committed, and never twice.
-- fingerprint is '' for the organisation's own Slack channel.
CREATE TABLE notifications (
  id uuid PRIMARY KEY,
  seq bigserial NOT NULL,
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  request_id uuid NOT NULL REFERENCES mpa_requests (id),
  event_key text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('created', 'reminder', 'approved', 'rejected', 'timeout', 'cancelled')),
  fingerprint text NOT NULL,
  channel text NOT NULL CHECK (channel IN ('push', 'email', 'slack')),
  target text NOT NULL,
  status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'delivered', 'failed')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL,
  locked_until timestamptz,
  last_error text,
  created_at timestamptz NOT NULL,
  completed_at timestamptz,
  UNIQUE (event_key, channel, fingerprint)
);
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'queued';
CREATE INDEX notifications_request ON notifications (request_id, seq);

-- Every attempt, for the notification log.
CREATE TABLE notification_attempts (
  notification_id uuid NOT NULL REFERENCES notifications (id),
  attempt integer NOT NULL,
  started_at timestamptz NOT NULL,
  outcome text NOT NULL CHECK (outcome IN ('sent', 'delivered', 'failed')),
  error text,
  PRIMARY KEY (notification_id, attempt)
);

-- A request's one reminder, recorded with its notifications.
CREATE TABLE notification_reminders (
  request_id uuid PRIMARY KEY REFERENCES mpa_requests (id),
  sent_at timestamptz NOT NULL
);
