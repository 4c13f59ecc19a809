/**
 * SimpleWebAuthn (and the X.509 and ASN.1 libraries under it) is loaded on first use, not when the
 * `sigil` command starts: most commands (`sigil apikey`, `sigil audit`, …) never need it.
 */
type Server = typeof import('@simplewebauthn/server');
type Helpers = typeof import('@simplewebauthn/server/helpers');

let server: Promise<Server> | null = null;
let helpers: Promise<Helpers> | null = null;

export const simpleWebAuthn = (): Promise<Server> => (server ??= import('@simplewebauthn/server'));
export const simpleWebAuthnHelpers = (): Promise<Helpers> => (helpers ??= import('@simplewebauthn/server/helpers'));
