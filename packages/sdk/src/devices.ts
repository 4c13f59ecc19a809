import { OWNER_ID, OWNER_ID_RULE } from '@sigilauth/protocol';
import type { DeviceList } from '@sigilauth/protocol/wire';
import { SigilValidationError } from './errors.js';
import type { HttpClient } from './http.js';
import type { CallOptions, Device } from './types.js';

export class DevicesApi {
  readonly #http: HttpClient;

  constructor(http: HttpClient) {
    this.#http = http;
  }

  /** Every device paired with this organisation, revoked ones included, oldest first. */
  async list(options: CallOptions = {}): Promise<Device[]> {
    const page = await this.#http.request<DeviceList>({
      method: 'GET',
      path: '/v1/devices',
      idempotent: true,
      signal: options.signal,
    });
    return page.data;
  }

  /** Revokes a device: it can no longer decide anything, open requests included, and its open connections end. Idempotent. */
  async revoke(fingerprint: string, options: CallOptions = {}): Promise<Device> {
    if (typeof fingerprint !== 'string' || fingerprint === '') throw new SigilValidationError('fingerprint is required');
    return this.#http.request<Device>({
      method: 'DELETE',
      path: `/v1/devices/${encodeURIComponent(fingerprint)}`,
      idempotent: true,
      signal: options.signal,
    });
  }

  /**
   * Links a device to its owner, as your application names the person (null unlinks). A request
   * with `requested_by: { id }` never counts that owner's devices, nor their other devices when
   * it names one of them by fingerprint.
   */
  async setOwner(fingerprint: string, ownerId: string | null, options: CallOptions = {}): Promise<Device> {
    if (typeof fingerprint !== 'string' || fingerprint === '') throw new SigilValidationError('fingerprint is required');
    if (ownerId !== null && (typeof ownerId !== 'string' || !OWNER_ID.test(ownerId))) {
      throw new SigilValidationError(`ownerId ${OWNER_ID_RULE}, or null`);
    }
    return this.#http.request<Device>({
      method: 'PUT',
      path: `/v1/devices/${encodeURIComponent(fingerprint)}/owner`,
      body: { owner_id: ownerId },
      idempotent: true,
      signal: options.signal,
    });
  }
}
