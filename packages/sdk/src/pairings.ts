import { SigilValidationError } from './errors.js';
import type { HttpClient } from './http.js';
import type { CallOptions, Pairing, PairingCreated, PairingCreateOptions } from './types.js';

export class PairingsApi {
  readonly #http: HttpClient;

  constructor(http: HttpClient) {
    this.#http = http;
  }

  /**
   * Opens a pairing: a single-use 8-digit code, valid for 5 minutes, that a device enters to pair.
   * Not retried after the server may have acted on it (that would open a second pairing);
   * 429 and refused connections are retried.
   */
  async create(options: PairingCreateOptions & CallOptions = {}): Promise<PairingCreated> {
    const { name, signal } = options;
    if (name !== undefined && (typeof name !== 'string' || name.length < 1 || name.length > 100)) {
      throw new SigilValidationError('name must be 1 to 100 characters');
    }
    return this.#http.request<PairingCreated>({
      method: 'POST',
      path: '/v1/pairings',
      body: name === undefined ? {} : { name },
      idempotent: false,
      signal,
    });
  }

  /** A pairing's status; once completed it names the device's fingerprint and key. */
  async get(pairingId: string, options: CallOptions = {}): Promise<Pairing> {
    if (typeof pairingId !== 'string' || pairingId === '') throw new SigilValidationError('pairing_id is required');
    return this.#http.request<Pairing>({
      method: 'GET',
      path: `/v1/pairings/${encodeURIComponent(pairingId)}`,
      idempotent: true,
      signal: options.signal,
    });
  }
}
