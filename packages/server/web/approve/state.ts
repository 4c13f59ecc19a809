/** The approver's state: what the server told us, who is signed in, and the requests we know of. */
import type { ApproverConfig, ApproverSession, DeviceRequestView } from '@sigilauth/protocol/wire';
import { $ } from '../lib/dom.js';

export const CREDENTIAL_HINT_KEY = 'sigil.approver.credential';

/** What the approver API answers, as @sigilauth/protocol declares it. */
export type { ApproverConfig as Config, ApproverRequestPage as RequestPage, ApproverSession as Me } from '@sigilauth/protocol/wire';

export type Connection = 'connecting' | 'live' | 'reconnecting';

export const app: {
  config: ApproverConfig | null;
  me: ApproverSession | null;
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
