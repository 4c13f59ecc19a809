-- Finished webhook deliveries and notifications are deleted some days after they finish
-- (retention/history.ts), found by when they finished.
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (completed_at) WHERE status <> 'pending';
CREATE INDEX notifications_finished ON notifications (completed_at) WHERE status <> 'queued';

-- An event is deleted once no delivery names it. The deliveries' unique key now leads with the
-- event, so that question, and the foreign key's own check when the event goes, read an index
-- instead of the whole table. Same columns, so no write costs more.
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_endpoint_id_event_id_key;
ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_event_id_endpoint_id_key UNIQUE (event_id, endpoint_id);
