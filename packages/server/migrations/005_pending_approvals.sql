-- Which approver rows belong to a request that is still pending, so a device's pending requests
-- (its paginated sync, and the per-device quota checked when a request is created) are found
-- without reading every request that ever named it. Cleared when the request leaves pending.
ALTER TABLE mpa_approvers ADD COLUMN pending boolean NOT NULL DEFAULT false;
UPDATE mpa_approvers a SET pending = true FROM mpa_requests r WHERE r.id = a.request_id AND r.status = 'pending';
CREATE INDEX mpa_approvers_pending ON mpa_approvers (fingerprint) WHERE pending;
