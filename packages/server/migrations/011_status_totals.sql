-- The storage-wide gauges of /metrics (requests and webhook deliveries by status) without counting
-- whole tables: the metrics refresh adds each row that is no longer pending to status_totals once,
-- marking it counted in the same transaction, and counts only the pending rows, through their
-- partial indexes. A finished request never changes again; a delivery made pending again (a manual
-- retry) or deleted (with its endpoint) is taken out of the totals first. Rows finished before this
-- migration are counted here, once.
CREATE TABLE status_totals (
  kind text NOT NULL CHECK (kind IN ('mpa_requests', 'webhook_deliveries')),
  status text NOT NULL,
  n bigint NOT NULL,
  PRIMARY KEY (kind, status)
);

ALTER TABLE mpa_requests ADD COLUMN counted boolean NOT NULL DEFAULT true;
ALTER TABLE mpa_requests ALTER COLUMN counted SET DEFAULT false;
UPDATE mpa_requests SET counted = false WHERE status = 'pending';
INSERT INTO status_totals (kind, status, n)
  SELECT 'mpa_requests', status, count(*) FROM mpa_requests WHERE status <> 'pending' GROUP BY status;
CREATE INDEX mpa_requests_uncounted ON mpa_requests (id) WHERE status <> 'pending' AND NOT counted;

ALTER TABLE webhook_deliveries ADD COLUMN counted boolean NOT NULL DEFAULT true;
ALTER TABLE webhook_deliveries ALTER COLUMN counted SET DEFAULT false;
UPDATE webhook_deliveries SET counted = false WHERE status = 'pending';
INSERT INTO status_totals (kind, status, n)
  SELECT 'webhook_deliveries', status, count(*) FROM webhook_deliveries WHERE status <> 'pending' GROUP BY status;
CREATE INDEX webhook_deliveries_uncounted ON webhook_deliveries (id) WHERE status <> 'pending' AND NOT counted;
