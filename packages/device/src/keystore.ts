import { randomBytes, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import {
  encodePublicKey,
  fingerprintOf,
  generateP256KeyPair,
  isFingerprint,
  normalizeServiceUrl,
  ServiceUrlError,
} from '@sigilauth/protocol';

export const KEY_FILE = 'device-key.pem';
export const SERVERS_FILE = 'servers.json';

/**
 * The device home: --home, else SIGIL_DEVICE_HOME, else a per-user directory that does not depend
 * on where the command runs: $XDG_CONFIG_HOME/sigil-device, or ~/.config/sigil-device. A home
 * made at the former default, ~/.sigil-device, keeps being used while the new one does not exist.
 */
export function resolveHome(option?: string, env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  const chosen = option ?? (env.SIGIL_DEVICE_HOME && env.SIGIL_DEVICE_HOME !== '' ? env.SIGIL_DEVICE_HOME : undefined);
  if (chosen !== undefined) return resolve(chosen);
  const config = env.XDG_CONFIG_HOME && isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : join(home, '.config');
  const current = join(config, 'sigil-device');
  const former = join(home, '.sigil-device');
  return !existsSync(current) && existsSync(join(former, KEY_FILE)) ? former : current;
}

export class KeystoreError extends Error {
  override name = 'KeystoreError';
}

export interface DeviceKey {
  privateKey: KeyObject;
  /** Compressed P-256 point, standard base64. */
  publicKey: string;
  /** Lower-case hex SHA-256 of the compressed point. */
  fingerprint: string;
  /** Where the private key lives. */
  path: string;
  /** Whether this call generated the key. */
  created: boolean;
}

/** Creates the home directory (mode 0700) if it is missing. */
export function ensureHome(home: string): void {
  try {
    const created = mkdirSync(home, { recursive: true, mode: 0o700 });
    if (created !== undefined) chmodSync(home, 0o700);
  } catch (err) {
    throw new KeystoreError(`cannot create ${home}: ${(err as Error).message}`);
  }
  const st = statSync(home);
  if (!st.isDirectory()) throw new KeystoreError(`${home} is not a directory`);
}

/** Writes a file so that readers see either the old content or the new, never a part; mode 0600. */
export function writeFileAtomic(path: string, data: string): void {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, path);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw err;
  }
}

function fromPrivateKey(privateKey: KeyObject, path: string, created: boolean): DeviceKey {
  if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new KeystoreError(`${path} does not hold a P-256 private key`);
  }
  const publicKey = encodePublicKey(createPublicKey(privateKey));
  return { privateKey, publicKey, fingerprint: fingerprintOf(publicKey), path, created };
}

function readKey(path: string): DeviceKey {
  const st = statSync(path);
  if (!st.isFile()) throw new KeystoreError(`${path} is not a file`);
  if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
    throw new KeystoreError(
      `${path} is readable by other users (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}); run: chmod 600 ${path}`,
    );
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new KeystoreError(`cannot read the device key in ${path}: ${(err as Error).message}`);
  }
  return fromPrivateKey(key, path, false);
}

/**
 * Loads the device's P-256 key from `home`, generating it on first use. The key file is
 * created with mode 0600 and published with link(2), so two processes starting at once
 * agree on a single key and never see a half-written file.
 */
export function loadOrCreateDeviceKey(home: string): DeviceKey {
  ensureHome(home);
  const path = join(home, KEY_FILE);
  try {
    return readKey(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const { privateKey } = generateP256KeyPair();
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, pem);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(tmp, 0o600);
  try {
    linkSync(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    // Another process won the race: use its key.
    return readKey(path);
  } finally {
    unlinkSync(tmp);
  }
  return fromPrivateKey(privateKey, path, true);
}

/** What the device remembers about one pairing: everything needed to trust that server later. */
export interface PairedServer {
  /** Normalised base URL, e.g. https://sigil.example.com */
  url: string;
  server_id: string;
  /** The server's P-256 key: every WebSocket message must verify against it. */
  server_public_key: string;
  org_name: string;
  tenant_id: string;
  device_name: string;
  pairing_id: string;
  paired_at: string;
}

interface ServersFile {
  version: 1;
  servers: PairedServer[];
}

function isPairedServer(value: unknown): value is PairedServer {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.url === 'string' &&
    isFingerprint(v.server_id) &&
    typeof v.server_public_key === 'string' &&
    typeof v.org_name === 'string' &&
    typeof v.tenant_id === 'string' &&
    typeof v.device_name === 'string' &&
    typeof v.pairing_id === 'string' &&
    typeof v.paired_at === 'string'
  );
}

export function loadServers(home: string): PairedServer[] {
  const path = join(home, SERVERS_FILE);
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new KeystoreError(`cannot read ${path}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new KeystoreError(`${path} is not valid JSON`);
  }
  const servers = (parsed as Partial<ServersFile> | null)?.servers;
  if (!Array.isArray(servers) || !servers.every(isPairedServer)) throw new KeystoreError(`${path} is not a servers file`);
  return servers;
}

/**
 * Remembers a pairing. One entry per (server, organisation); a URL always maps to one server
 * identity, so pairing again with a URL whose server identity changed replaces the old entries.
 * Returns the entries that were replaced because the server identity at that URL changed.
 */
export function savePairing(home: string, entry: PairedServer): PairedServer[] {
  ensureHome(home);
  const current = loadServers(home);
  const replaced = current.filter((s) => s.url === entry.url && s.server_id !== entry.server_id);
  const kept = current.filter((s) => !(s.url === entry.url && (s.server_id !== entry.server_id || s.tenant_id === entry.tenant_id)));
  const file: ServersFile = { version: 1, servers: [...kept, entry] };
  writeFileAtomic(join(home, SERVERS_FILE), `${JSON.stringify(file, null, 2)}\n`);
  return replaced;
}

/** Canonical form of a server URL: origin plus path without a trailing slash; http(s) only. */
export function normalizeServerUrl(input: string): string {
  try {
    return normalizeServiceUrl(input).url;
  } catch (err) {
    throw err instanceof ServiceUrlError ? new KeystoreError(err.message) : err;
  }
}

/**
 * Picks the server a command talks to: the one named by --server (which must have been paired),
 * else the only paired server. Several organisations on one server count as one server.
 */
export function selectServer(servers: PairedServer[], serverOption?: string): PairedServer {
  if (serverOption !== undefined) {
    const url = normalizeServerUrl(serverOption);
    const match = servers.find((s) => s.url === url);
    if (!match) throw new KeystoreError(`this device is not paired with ${url}; run: sigil-device pair --server ${url} --code CODE`);
    return match;
  }
  const urls = [...new Set(servers.map((s) => s.url))];
  if (urls.length === 0)
    throw new KeystoreError('this device is not paired with any server; run: sigil-device pair --server URL --code CODE');
  if (urls.length > 1) throw new KeystoreError(`this device is paired with several servers; choose one with --server (${urls.join(', ')})`);
  return servers.find((s) => s.url === urls[0])!;
}
