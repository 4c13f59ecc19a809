/**
 * Who the web approver's passkeys belong to. A passkey is bound to a relying party ID (a host
 * name) and every ceremony names the page's origin, so the server must know the public URL
 * browsers use. SIGIL_PUBLIC_URL gives it; a server listening on loopback without one serves the
 * web approver at http(s)://localhost:PORT (browsers treat localhost as a secure context, and an
 * IP address cannot be an RP ID).
 */
export interface WebAuthnConfig {
  /** Only devices whose key is attested to live in secure hardware may pair (SIGIL_ATTESTATION_REQUIRED). */
  attestationRequired: boolean;
  /** The URL browsers use to reach this server, e.g. https://sigil.example.com (SIGIL_PUBLIC_URL). */
  publicUrl?: string | undefined;
  /** The relying party ID; the public URL's host by default (SIGIL_RP_ID). */
  rpId?: string | undefined;
  /** A JSON file of FIDO metadata statements: extra attestation roots and model names (SIGIL_ATTESTATION_METADATA). */
  metadataFile?: string | undefined;
}

export interface RelyingParty {
  rpId: string;
  /** The one origin whose ceremonies are accepted. */
  origin: string;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', '[::1]', 'localhost']);

/** Checks the public URL and RP ID (an RP ID must be the URL's host or a registrable suffix of it). */
export function relyingPartyOf(publicUrl: string, rpId?: string): RelyingParty {
  let url: URL;
  try {
    url = new URL(publicUrl);
  } catch {
    throw new Error(`SIGIL_PUBLIC_URL is not a URL: ${publicUrl}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('SIGIL_PUBLIC_URL must be an http: or https: URL');
  const host = url.hostname;
  if (url.protocol === 'http:' && host !== 'localhost' && !host.endsWith('.localhost')) {
    throw new Error('SIGIL_PUBLIC_URL must be https: (browsers allow passkeys over plain http only on localhost)');
  }
  const id = (rpId ?? host).toLowerCase();
  if (/^[\d.]+$/.test(id) || id.includes(':') || id.includes('['))
    throw new Error(`the RP ID must be a host name, not an IP address: ${id}`);
  if (host !== id && !host.endsWith(`.${id}`)) throw new Error(`SIGIL_RP_ID ${id} must be ${host} or a parent domain of it`);
  return { rpId: id, origin: url.origin };
}

export class WebAuthnSettings {
  readonly attestationRequired: boolean;
  readonly metadataFile: string | undefined;
  private rp: RelyingParty | null;

  constructor(config: WebAuthnConfig) {
    this.attestationRequired = config.attestationRequired;
    this.metadataFile = config.metadataFile;
    this.rp = config.publicUrl ? relyingPartyOf(config.publicUrl, config.rpId) : null;
  }

  /** Called once the server listens; without a public URL a loopback server uses http(s)://localhost:PORT. */
  listening(protocol: 'http' | 'https', host: string, port: number): void {
    if (this.rp === null && LOOPBACK_HOSTS.has(host)) this.rp = { rpId: 'localhost', origin: `${protocol}://localhost:${port}` };
  }

  /** The relying party, or null when browsers cannot be served (no SIGIL_PUBLIC_URL on a non-loopback server). */
  relyingParty(): RelyingParty | null {
    return this.rp;
  }
}
