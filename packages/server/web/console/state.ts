/** The console's state: the API key of this tab, the server it answers for, and what it lets us see. */
import type { AuditLeafEntry } from '@sigilauth/protocol/audit';
import type { DeviceAttestation } from '@sigilauth/protocol/decision';
import type { Pictogram } from '@sigilauth/protocol/pictogram';
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

export interface Device {
  fingerprint: string;
  device_public_key: string;
  name: string;
  paired_at: string;
  status: 'active' | 'revoked';
  revoked_at?: string;
  attestation?: DeviceAttestation;
  owner_id?: string | null;
}

/** One entry of GET /v1/audit: the fields its leaf commits to, and where it sits in the log (null until it has a leaf). */
export type AuditEntry = Omit<AuditLeafEntry, 'leaf_index'> & { id: number; leaf_index: number | null; leaf_hash: string | null };

export const session: { apiKey: string | null; info: Info | null } = { apiKey: null, info: null };
export const features = { webhooks: false, audit: false };

export const main = () => $('#main');
