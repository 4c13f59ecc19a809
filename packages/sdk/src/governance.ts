import type { AnomalyFlagList } from '@sigilauth/protocol/wire';
import { SigilValidationError } from './errors.js';
import type { HttpClient } from './http.js';
import type { AnomalyFlagView, CallOptions, DeviceFlags, DeviceTimeZone, GovernanceSettings, GovernanceSettingsPatch } from './types.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The organisation's governance settings (anomaly flags, time zone, timing privacy) and the
 * flags raised on its requests and devices (docs/governance.md). Flags name the device: they are
 * the organisation's own view, as the audit log is.
 */
export class GovernanceApi {
  readonly #http: HttpClient;

  constructor(http: HttpClient) {
    this.#http = http;
  }

  async getSettings(options: CallOptions = {}): Promise<GovernanceSettings> {
    return this.#http.request<GovernanceSettings>({
      method: 'GET',
      path: '/v1/governance/settings',
      idempotent: true,
      signal: options.signal,
    });
  }

  /** Changes the settings named in `patch`; `decision_release: null` turns timing privacy off. */
  async updateSettings(patch: GovernanceSettingsPatch, options: CallOptions = {}): Promise<GovernanceSettings> {
    if (typeof patch !== 'object' || patch === null) throw new SigilValidationError('settings must be an object');
    return this.#http.request<GovernanceSettings>({
      method: 'PATCH',
      path: '/v1/governance/settings',
      body: patch,
      idempotent: true,
      signal: options.signal,
    });
  }

  /** A request's anomaly flags, oldest first. */
  async requestFlags(requestId: string, options: CallOptions = {}): Promise<AnomalyFlagView[]> {
    if (typeof requestId !== 'string' || !UUID.test(requestId)) throw new SigilValidationError('requestId must be a UUID');
    const page = await this.#http.request<AnomalyFlagList>({
      method: 'GET',
      path: `/v1/mpa/requests/${requestId}/flags`,
      idempotent: true,
      signal: options.signal,
    });
    return page.data;
  }

  /** A device's time zone and its 100 most recent flags, newest first. */
  async deviceFlags(fingerprint: string, options: CallOptions = {}): Promise<DeviceFlags> {
    if (typeof fingerprint !== 'string' || fingerprint === '') throw new SigilValidationError('fingerprint is required');
    return this.#http.request<DeviceFlags>({
      method: 'GET',
      path: `/v1/devices/${encodeURIComponent(fingerprint)}/flags`,
      idempotent: true,
      signal: options.signal,
    });
  }

  /** The time zone a device's "hour of day" is read in; null returns it to the organisation's. */
  async setDeviceTimeZone(fingerprint: string, timeZone: string | null, options: CallOptions = {}): Promise<DeviceTimeZone> {
    if (typeof fingerprint !== 'string' || fingerprint === '') throw new SigilValidationError('fingerprint is required');
    return this.#http.request<DeviceTimeZone>({
      method: 'PUT',
      path: `/v1/devices/${encodeURIComponent(fingerprint)}/time-zone`,
      body: { time_zone: timeZone },
      idempotent: true,
      signal: options.signal,
    });
  }
}
