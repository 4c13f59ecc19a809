import webpush from 'web-push';
import type { Queryable } from '../storage/database.js';

export interface VapidKeys {
  /** Uncompressed P-256 point, base64url: the page's applicationServerKey. */
  publicKey: string;
  privateKey: string;
}

/** Loads the server's VAPID key pair, making it on first start; racing instances agree on one. */
export async function loadVapidKeys(db: Queryable): Promise<VapidKeys> {
  const read = async () =>
    (await db.query<{ public_key: string; private_key: string }>('SELECT public_key, private_key FROM vapid_keys'))[0];
  let row = await read();
  if (!row) {
    const made = webpush.generateVAPIDKeys();
    await db.query('INSERT INTO vapid_keys (public_key, private_key) VALUES ($1, $2) ON CONFLICT (singleton) DO NOTHING', [
      made.publicKey,
      made.privateKey,
    ]);
    row = await read();
  }
  if (!row) throw new Error('VAPID keys missing after insert');
  return { publicKey: row.public_key, privateKey: row.private_key };
}
