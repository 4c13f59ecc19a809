-- Each approval row carries its request's creation and expiry, so that the two questions asked of
-- a device's approvals on every creation and every decision are one index range each, without
-- visiting the requests: how many requests wait for the device (its pending quota), and how many
-- it was sent in the last minutes (the approval_burst flag, whose window is at most a day). Rows
-- of requests created before the last two days are never asked either question and stay NULL.
ALTER TABLE mpa_approvers ADD COLUMN created_at timestamptz, ADD COLUMN expires_at timestamptz;
UPDATE mpa_approvers a SET created_at = r.created_at, expires_at = r.expires_at
  FROM mpa_requests r
 WHERE r.id = a.request_id AND (a.pending OR r.created_at > now() - interval '2 days');

DROP INDEX mpa_approvers_pending;
CREATE INDEX mpa_approvers_pending ON mpa_approvers (fingerprint, expires_at) WHERE pending;
DROP INDEX mpa_approvers_fingerprint;
CREATE INDEX mpa_approvers_device_recent ON mpa_approvers (fingerprint, created_at);
