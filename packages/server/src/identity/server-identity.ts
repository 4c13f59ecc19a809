import { createHmac, createPrivateKey, createPublicKey, hkdfSync, type KeyObject } from 'node:crypto';
import { DomainTag, encodePublicKey, fingerprintOf, generateP256KeyPair, pictogramFor, signPayload } from '@sigilauth/protocol';
import type { Pictogram, SignedTreeHead, TreeHead, ServerMessage, SignedServerMessage } from '@sigilauth/protocol/wire';
import type { Database, Queryable } from '../storage/database.js';

export interface ServerIdentity {
  serverId: string;
  publicKey: string;
  pictogram: Pictogram;
  signMessage(message: ServerMessage): SignedServerMessage;
  /** Signs an audit log tree head under DomainTag.treeHead. */
  signTreeHead(head: TreeHead): SignedTreeHead;
  /** HMAC-SHA256 of `data` under a key derived from the identity key: the same on every instance, unknown outside the server. */
  mac(purpose: string, data: string): Buffer;
}

/** Loads the server's P-256 identity, creating it on first start; racing instances agree on one. */
export async function loadServerIdentity(db: Database): Promise<ServerIdentity> {
  const read = async () =>
    (
      await db.query<{ private_key_pem: string; public_key: string; server_id: string }>(
        'SELECT private_key_pem, public_key, server_id FROM server_identity',
      )
    )[0];
  let row = await read();
  if (!row) {
    const { privateKey, publicKey } = generateP256KeyPair();
    const encoded = encodePublicKey(publicKey);
    await db.query(
      `INSERT INTO server_identity (private_key_pem, public_key, server_id) VALUES ($1, $2, $3) ON CONFLICT (singleton) DO NOTHING`,
      [privateKey.export({ format: 'pem', type: 'pkcs8' }), encoded, fingerprintOf(encoded)],
    );
    row = await read();
  }
  if (!row) throw new Error('server identity missing after insert');
  const key: KeyObject = createPrivateKey(row.private_key_pem);
  if (encodePublicKey(createPublicKey(key)) !== row.public_key) throw new Error('server identity key does not match its public key');
  const macKeys = new Map<string, Buffer>();
  const macKey = (purpose: string) => {
    let k = macKeys.get(purpose);
    if (!k) {
      const secret = key.export({ format: 'der', type: 'pkcs8' });
      macKeys.set(purpose, (k = Buffer.from(hkdfSync('sha256', secret, 'sigil-server-mac', purpose, 32))));
    }
    return k;
  };
  return {
    serverId: row.server_id,
    publicKey: row.public_key,
    pictogram: pictogramFor(row.server_id),
    signMessage: (message) => ({ payload: message, signature: signPayload(DomainTag.serverMessage, message, key) }),
    signTreeHead: (head) => ({ payload: head, signature: signPayload(DomainTag.treeHead, head, key) }),
    mac: (purpose, data) => createHmac('sha256', macKey(purpose)).update(data).digest(),
  };
}

/**
 * The server's identity before the store is open: a ServerIdentity whose fields and methods are
 * those of the identity load() reads. The HTTP app is built with it while the store opens; it is
 * loaded before the server listens, and reading it earlier is a programming error.
 */
export function lateServerIdentity(): { identity: ServerIdentity; load(db: Database): Promise<ServerIdentity> } {
  let loaded: ServerIdentity | null = null;
  const current = (): ServerIdentity => {
    if (!loaded) throw new Error('the server identity was read before the store was open');
    return loaded;
  };
  const identity: ServerIdentity = {
    get serverId() {
      return current().serverId;
    },
    get publicKey() {
      return current().publicKey;
    },
    get pictogram() {
      return current().pictogram;
    },
    signMessage: (message) => current().signMessage(message),
    signTreeHead: (head) => current().signTreeHead(head),
    mac: (purpose, data) => current().mac(purpose, data),
  };
  return { identity, load: async (db) => (loaded = await loadServerIdentity(db)) };
}

/** The store's identity public key, without making one (loadServerIdentity would, on an empty store); null when there is none. */
export async function existingServerPublicKey(db: Queryable): Promise<string | null> {
  const [row] = await db.query<{ public_key: string }>('SELECT public_key FROM server_identity');
  return row?.public_key ?? null;
}
