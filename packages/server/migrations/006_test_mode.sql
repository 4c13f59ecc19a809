-- Test mode: an organisation's test-mode objects live in its twin, a sandbox organisation.
-- sgk_test_ keys belong to the twin, sgk_live_ keys to the organisation itself; requests,
-- pairings, devices, webhooks and the audit log are all per organisation, so test-mode and
-- live objects never see each other.
ALTER TABLE tenants ADD COLUMN live_tenant_id uuid UNIQUE REFERENCES tenants (id);
ALTER TABLE tenants ADD CONSTRAINT tenants_twin_is_not_itself CHECK (live_tenant_id IS DISTINCT FROM id);

-- Test keys made before test mode existed move to a twin of their organisation (what they
-- created then stays with the organisation: it cannot be told apart any more).
INSERT INTO tenants (id, name, live_tenant_id, created_at)
SELECT gen_random_uuid(), t.name || ' (test mode)', t.id, now()
  FROM tenants t
 WHERE t.live_tenant_id IS NULL AND EXISTS (SELECT 1 FROM api_keys k WHERE k.tenant_id = t.id AND k.mode = 'test');
UPDATE api_keys k SET tenant_id = twin.id FROM tenants twin WHERE twin.live_tenant_id = k.tenant_id AND k.mode = 'test';
