-- The outbox workers take due work organisation by organisation (background/claim-loop.ts), each
-- organisation's oldest first, so each needs its own due order.
CREATE INDEX webhook_deliveries_tenant_due ON webhook_deliveries (tenant_id, next_attempt_at, seq) WHERE status = 'pending';
DROP INDEX notifications_due;
CREATE INDEX notifications_tenant_due ON notifications (tenant_id, next_attempt_at, seq) WHERE status = 'queued';
