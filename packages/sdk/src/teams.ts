import { isFingerprint, TEAM_SLUG } from '@sigilauth/protocol';
import type { TeamList } from '@sigilauth/protocol/wire';
import { SigilValidationError } from './errors.js';
import type { HttpClient } from './http.js';
import type { CallOptions, Team, TeamInput, TeamUpdate } from './types.js';

/** Approval teams: named sets of devices a request's group can name instead of listing approvers (`{ name, team: slug }`). */
export class TeamsApi {
  readonly #http: HttpClient;

  constructor(http: HttpClient) {
    this.#http = http;
  }

  /** Creates a team. Its members must be active devices of this organisation. */
  async create(input: TeamInput, options: CallOptions = {}): Promise<Team> {
    checkSlug(input?.slug);
    for (const f of input.members ?? []) checkFingerprint(f);
    return this.#http.request<Team>({ method: 'POST', path: '/v1/teams', body: input, idempotent: false, signal: options.signal });
  }

  /** Every team of this organisation, by slug. */
  async list(options: CallOptions = {}): Promise<Team[]> {
    const page = await this.#http.request<TeamList>({ method: 'GET', path: '/v1/teams', idempotent: true, signal: options.signal });
    return page.data;
  }

  async get(slug: string, options: CallOptions = {}): Promise<Team> {
    checkSlug(slug);
    return this.#http.request<Team>({ method: 'GET', path: `/v1/teams/${slug}`, idempotent: true, signal: options.signal });
  }

  /**
   * Renames a team, changes its minimum size, adds or removes members. Requests already created
   * keep the members they froze; only later requests see the change.
   */
  async update(slug: string, update: TeamUpdate, options: CallOptions = {}): Promise<Team> {
    checkSlug(slug);
    for (const f of [...(update?.add_members ?? []), ...(update?.remove_members ?? [])]) checkFingerprint(f);
    return this.#http.request<Team>({ method: 'PATCH', path: `/v1/teams/${slug}`, body: update, idempotent: true, signal: options.signal });
  }

  /** Deletes a team; requests already created keep the members they froze. */
  async delete(slug: string, options: CallOptions = {}): Promise<{ slug: string; deleted: true }> {
    checkSlug(slug);
    return this.#http.request({ method: 'DELETE', path: `/v1/teams/${slug}`, idempotent: true, signal: options.signal });
  }
}

function checkSlug(slug: unknown): asserts slug is string {
  if (typeof slug !== 'string' || !TEAM_SLUG.test(slug)) {
    throw new SigilValidationError("team slug must be 1-63 lower-case letters, digits, '-' or '_', starting with a letter or digit");
  }
}
function checkFingerprint(fingerprint: unknown): void {
  if (!isFingerprint(fingerprint)) throw new SigilValidationError('team members are device fingerprints: 64 lower-case hex characters');
}
