/** The console's state: the API key of this tab, the server it answers for, and what it lets us see. */
import type { ServerInfo } from '@sigilauth/protocol/wire';

export const KEY_STORAGE = 'sigil.console.apiKey';
export const REFRESH_MS = 3000;
export const STATUSES = ['pending', 'approved', 'rejected', 'timeout', 'cancelled'] as const;

/** What the API answers, as @sigilauth/protocol declares it. */
export type { AuditEntry, Device, ServerInfo as Info } from '@sigilauth/protocol/wire';

export const session: { apiKey: string | null; info: ServerInfo | null } = { apiKey: null, info: null };
export const features = { webhooks: false, audit: false };
