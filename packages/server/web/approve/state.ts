/** The approver's state: what the server told us, who is signed in, and the requests we know of. */
import type { DeviceRequestView } from '@sigilauth/protocol/messages';
import type { Pictogram } from '@sigilauth/protocol/pictogram';
import { $ } from '../lib/dom.js';

export const CREDENTIAL_HINT_KEY = 'sigil.approver.credential';

export interface Config {
  server_id: string;
  pictogram: Pictogram;
  org_name: string | null;
  rp_id: string | null;
  origin: string | null;
  attestation_required: boolean;
  server_time: number;
}

export interface Me {
  tenant_id: string;
  org_name: string;
  fingerprint: string;
  name: string;
  credential_id: string;
  rp_id: string;
  server_id: string;
  server_time: number;
}

/** One page of the pending requests naming this device, newest first (docs/protocol.md). */
export interface RequestPage {
  requests: DeviceRequestView[];
  next_cursor: string | null;
}

export type Connection = 'connecting' | 'live' | 'reconnecting';

export const app: {
  config: Config | null;
  me: Me | null;
  /** Server clock minus ours, so a decision's issued_at is fresh even on a device with a wrong clock. */
  clockOffset: number;
  events: EventSource | null;
  connection: Connection;
  flash: string | null;
  /** Updates the request screen in place when a request changes; null on other views. */
  screen: { id: string; update: (view: DeviceRequestView) => void } | null;
} = { config: null, me: null, clockOffset: 0, events: null, connection: 'connecting', flash: null, screen: null };

export const requests = new Map<string, DeviceRequestView>();

export const now = () => Date.now() + app.clockOffset;
export const main = () => $('#main');
