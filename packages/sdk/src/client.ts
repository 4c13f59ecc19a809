import { isIP } from 'node:net';
import { normalizeServiceUrl, ServiceUrlError } from '@sigilauth/protocol';
import { AuditApi } from './audit.js';
import { SigilConfigError } from './errors.js';
import { DevicesApi } from './devices.js';
import { DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT_MS, HttpClient, type FetchLike } from './http.js';
import { MpaApi } from './mpa.js';
import { GovernanceApi } from './governance.js';
import { OverridesApi } from './overrides.js';
import { PairingsApi } from './pairings.js';
import { TeamsApi } from './teams.js';
import { WebhooksApi } from './webhooks.js';

export interface SigilAuthOptions {
  /** Base URL of your Sigil service, e.g. 'https://sigil.example.com'. Plain http only for loopback. */
  serviceUrl: string;
  /** `sgk_...`; defaults to the SIGIL_API_KEY environment variable. */
  apiKey?: string;
  /** A fetch implementation; defaults to the global fetch. */
  fetch?: FetchLike;
  /** Retries after the first attempt, for network errors, 429 and 5xx; default 3. */
  maxRetries?: number;
  /** Per-attempt timeout in milliseconds; default 30 000. */
  timeoutMs?: number;
}

export class SigilAuth {
  /** Multi-party approval requests. */
  readonly mpa: MpaApi;
  /** Pairing codes for approver devices. */
  readonly pairings: PairingsApi;
  /** Paired approver devices. */
  readonly devices: DevicesApi;
  /** Approval teams: a request's group can name a team instead of listing approvers. */
  readonly teams: TeamsApi;
  /** Break glass: emergency overrides and their post-facto review. */
  readonly overrides: OverridesApi;
  /** Anomaly-flag and timing-privacy settings, and the flags raised on requests and devices. */
  readonly governance: GovernanceApi;
  /** Verification of webhook deliveries (no API call). */
  readonly webhooks: WebhooksApi;
  /** The tamper-evident audit log, and offline verification of its proofs. */
  readonly audit: AuditApi;
  /** The normalised service URL, without a trailing slash. */
  readonly serviceUrl: string;

  constructor(options: SigilAuthOptions) {
    if (typeof options !== 'object' || options === null)
      throw new SigilConfigError('new SigilAuth() needs an options object with serviceUrl');
    this.serviceUrl = normaliseServiceUrl(options.serviceUrl);
    const apiKey = options.apiKey ?? process.env.SIGIL_API_KEY;
    if (apiKey === undefined || apiKey === '') {
      throw new SigilConfigError(
        'No Sigil API key: pass { apiKey } to new SigilAuth() or set the SIGIL_API_KEY environment variable',
        'missing_api_key',
      );
    }
    if (typeof apiKey !== 'string' || !/^[\x21-\x7e]+$/.test(apiKey)) {
      throw new SigilConfigError('The Sigil API key must be printable ASCII without spaces (sgk_...)', 'invalid_api_key');
    }
    const maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES;
    if (!Number.isInteger(maxRetries) || maxRetries < 0) throw new SigilConfigError('maxRetries must be a non-negative integer');
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new SigilConfigError('timeoutMs must be a positive number');
    const fetchImpl = options.fetch ?? globalThis.fetch;
    if (typeof fetchImpl !== 'function') throw new SigilConfigError('no fetch implementation: pass { fetch } or use Node 18 or later');

    const http = new HttpClient({ baseUrl: this.serviceUrl, apiKey, fetch: fetchImpl, maxRetries, timeoutMs });
    this.mpa = new MpaApi(http);
    this.pairings = new PairingsApi(http);
    this.devices = new DevicesApi(http);
    this.teams = new TeamsApi(http);
    this.overrides = new OverridesApi(http);
    this.governance = new GovernanceApi(http);
    this.webhooks = new WebhooksApi();
    this.audit = new AuditApi(http);
  }
}

/** Checks the service URL and strips trailing slashes. Plain http is refused except to loopback. */
export function normaliseServiceUrl(serviceUrl: unknown): string {
  if (typeof serviceUrl !== 'string' || serviceUrl === '')
    throw new SigilConfigError('serviceUrl is required, e.g. https://sigil.example.com');
  let normalized: { url: string; parsed: URL };
  try {
    normalized = normalizeServiceUrl(serviceUrl, 'serviceUrl');
  } catch (err) {
    throw err instanceof ServiceUrlError ? new SigilConfigError(err.message) : err;
  }
  if (normalized.parsed.protocol === 'http:' && !isLoopbackHost(normalized.parsed.hostname)) {
    throw new SigilConfigError(
      `serviceUrl must use https: plain http would send the API key in clear text to ${normalized.parsed.hostname} (http is allowed only for localhost, 127.0.0.0/8 and ::1)`,
      'insecure_service_url',
    );
  }
  return normalized.url;
}

export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1';
  return false;
}
