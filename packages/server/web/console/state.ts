/** The console's state: the API key of this tab, the server it answers for, and what it lets us see. */
import type { DeviceAttestation } from '../../../protocol/src/webauthn.js';
import type { Pictogram } from '../../../protocol/src/pictogram.js';
import { $ } from '../lib/dom.js';

export const KEY_STORAGE = 'sigil.console.apiKey';
export const REFRESH_MS = 3000;
export const STATUSES = ['pending', 'approved', 'rejected', 'timeout', 'cancelled'] as const;

export interface Info {
  server_id: string;
  server_public_key: string;
  pictogram: Pictogram;
  org_name: string;
  version: string;
}

export interface RequestView {
  request_id: string;
  status: string;
  groups_required: number;
  groups_total: number;
  groups_satisfied: string[];
  expires_at: string;
  created_at: string;
  completed_at?: string;
  action: { type: string; description: string; params: Record<string, string | number | boolean> };
}

export interface Device {
  fingerprint: string;
  device_public_key: string;
  name: string;
  paired_at: string;
  status: 'active' | 'revoked';
  revoked_at?: string;
  attestation?: DeviceAttestation;
}

export interface AuditEntry {
  id: number;
  leaf_index: number | null;
  leaf_hash: string | null;
  tenant_id: string;
  type: string;
  request_id: string | null;
  data: Record<string, unknown>;
  created_at: string;
}

export const session: { apiKey: string | null; info: Info | null } = { apiKey: null, info: null };
export const features = { webhooks: false, audit: false };

export const main = () => $('#main');
