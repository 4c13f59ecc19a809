-- Anomaly flags (docs/governance.md) read a device's history through indexes, so judging a
-- decision costs the same after ten decisions as after ten thousand: the newest approvals for the
-- hour of day, and a lookup each for a network and a client seen before.
DROP INDEX mpa_decisions_device_history;
CREATE INDEX mpa_decisions_device_approvals ON mpa_decisions (fingerprint, decided_at) WHERE decision = 'approve';
CREATE INDEX mpa_decisions_device_networks ON mpa_decisions (fingerprint, network) WHERE network IS NOT NULL;
CREATE INDEX mpa_decisions_device_clients ON mpa_decisions (fingerprint, client) WHERE client IS NOT NULL;
