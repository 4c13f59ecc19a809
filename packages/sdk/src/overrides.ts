import type { OverrideList } from '@sigilauth/protocol/wire';
import type { HttpClient } from './http.js';
import { SigilValidationError } from './errors.js';
import type { CallOptions, Override, OverrideCreated, OverrideInput, OverrideSettings, OverrideStatus } from './types.js';

/**
 * Break glass: record an emergency action performed without approval. Sigil answers at once and
 * opens the post-facto review request (action type `emergency_override`) for the organisation's
 * review teams; the override awaits review until that request ends.
 */
export class OverridesApi {
  readonly #http: HttpClient;

  constructor(http: HttpClient) {
    this.#http = http;
  }

  /**
   * Records an override. Not retried on a lost answer (each call is one override, and the
   * organisation may limit them per day): on a network error, list the overrides before trying again.
   * Refused with 403 `overrides_disabled` or 429 `override_limit_reached` (SigilApiError).
   */
  async create(input: OverrideInput, options: CallOptions = {}): Promise<OverrideCreated> {
    if (typeof input?.reason !== 'string' || input.reason.trim() === '') throw new SigilValidationError('reason is required');
    if (typeof input.action !== 'object' || input.action === null) throw new SigilValidationError('action is required');
    return this.#http.request<OverrideCreated>({
      method: 'POST',
      path: '/v1/overrides',
      body: input,
      idempotent: false,
      maxRetries: 0,
      signal: options.signal,
    });
  }

  /** The most recent overrides (at most 100), newest first; `status: 'awaiting_review'` lists those still under review. */
  async list(options: CallOptions & { status?: OverrideStatus } = {}): Promise<Override[]> {
    const query = options.status ? `?status=${encodeURIComponent(options.status)}` : '';
    const page = await this.#http.request<OverrideList>({
      method: 'GET',
      path: `/v1/overrides${query}`,
      idempotent: true,
      signal: options.signal,
    });
    return page.data;
  }

  async getSettings(options: CallOptions = {}): Promise<OverrideSettings> {
    return this.#http.request<OverrideSettings>({
      method: 'GET',
      path: '/v1/overrides/settings',
      idempotent: true,
      signal: options.signal,
    });
  }

  /** Turns overrides on or off, limits them per day, and chooses the teams that review them. */
  async updateSettings(settings: OverrideSettings, options: CallOptions = {}): Promise<OverrideSettings> {
    return this.#http.request<OverrideSettings>({
      method: 'PUT',
      path: '/v1/overrides/settings',
      body: settings,
      idempotent: true,
      signal: options.signal,
    });
  }
}
