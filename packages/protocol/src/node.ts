/** The runtime-neutral rules that need SHA-256 or a key check, bound to node:crypto and synchronous. */
import { sha256Sync } from './crypto/node.js';
import { utf8 } from './bytes.js';
import { canonicalize } from './jcs.js';
import { decodePublicKey, fingerprintOf } from './keys.js';
import { validateMpaRequestWith, type MpaAction, type MpaPolicy } from './mpa.js';
import { pictogramFromDigest, pictogramInput } from './pictogram.js';
import type { Pictogram } from './wire/info.js';

/**
 * Validates an MPA request body exactly as the server does, with the same messages,
 * and returns the policy with defaults applied. Device pairing is checked by the server only.
 */
export function validateMpaRequest(body: unknown): MpaPolicy {
  return validateMpaRequestWith(body, (key) => {
    decodePublicKey(key);
    return fingerprintOf(key);
  });
}

/** Lower-case hex SHA-256 of the canonical action: what an approver's signature commits to. */
export function actionDigest(action: Required<MpaAction>): string {
  return sha256Sync(utf8(canonicalize(action))).toString('hex');
}

/** Five emoji from the first 30 bits of SHA-256("sigil-pictogram\0" || server_id). */
export function pictogramFor(serverId: string): Pictogram {
  return pictogramFromDigest(sha256Sync(pictogramInput(serverId)));
}
