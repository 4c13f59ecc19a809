import { concatBytes, utf8 } from './bytes.js';
import type { SigilCrypto } from './crypto/types.js';
import type { Pictogram } from './wire/info.js';

/** 64 emoji that are easy to tell apart and to say aloud; index = 6 bits. Never reorder. */
export const PICTOGRAM_EMOJI: ReadonlyArray<readonly [string, string]> = [
  ['🐶', 'dog'],
  ['🐱', 'cat'],
  ['🦁', 'lion'],
  ['🐴', 'horse'],
  ['🦄', 'unicorn'],
  ['🐷', 'pig'],
  ['🐘', 'elephant'],
  ['🐰', 'rabbit'],
  ['🐼', 'panda'],
  ['🐓', 'rooster'],
  ['🐧', 'penguin'],
  ['🐢', 'turtle'],
  ['🐟', 'fish'],
  ['🐙', 'octopus'],
  ['🦋', 'butterfly'],
  ['🌷', 'tulip'],
  ['🌳', 'tree'],
  ['🌵', 'cactus'],
  ['🍄', 'mushroom'],
  ['🌏', 'globe'],
  ['🌙', 'moon'],
  ['☁️', 'cloud'],
  ['🔥', 'fire'],
  ['🍌', 'banana'],
  ['🍎', 'apple'],
  ['🍓', 'strawberry'],
  ['🌽', 'corn'],
  ['🍕', 'pizza'],
  ['🎂', 'cake'],
  ['❤️', 'heart'],
  ['😀', 'smiley'],
  ['🤖', 'robot'],
  ['🎩', 'hat'],
  ['👓', 'glasses'],
  ['🔧', 'wrench'],
  ['🎅', 'santa'],
  ['👍', 'thumbs up'],
  ['☂️', 'umbrella'],
  ['⌛', 'hourglass'],
  ['⏰', 'clock'],
  ['🎁', 'gift'],
  ['💡', 'light bulb'],
  ['📕', 'book'],
  ['✏️', 'pencil'],
  ['📎', 'paperclip'],
  ['✂️', 'scissors'],
  ['🔒', 'lock'],
  ['🔑', 'key'],
  ['🔨', 'hammer'],
  ['☎️', 'telephone'],
  ['🏁', 'flag'],
  ['🚂', 'train'],
  ['🚲', 'bicycle'],
  ['✈️', 'aeroplane'],
  ['🚀', 'rocket'],
  ['🏆', 'trophy'],
  ['⚽', 'ball'],
  ['🎸', 'guitar'],
  ['🎺', 'trumpet'],
  ['🔔', 'bell'],
  ['⚓', 'anchor'],
  ['🎧', 'headphones'],
  ['📁', 'folder'],
  ['📌', 'pin'],
];

/** The bytes whose SHA-256 picks a server's pictogram: "sigil-pictogram\0" || server_id (UTF-8). */
export function pictogramInput(serverId: string): Uint8Array<ArrayBuffer> {
  return concatBytes(utf8('sigil-pictogram\0'), utf8(serverId));
}

/** Five emoji from the first 30 bits of the digest of pictogramInput(server_id). */
export function pictogramFromDigest(digest: Uint8Array): Pictogram {
  const bits = new DataView(digest.buffer, digest.byteOffset, digest.byteLength).getUint32(0);
  const indexes = [0, 1, 2, 3, 4].map((i) => (bits >>> (26 - 6 * i)) & 0x3f);
  const picked = indexes.map((i) => PICTOGRAM_EMOJI[i]!);
  return { emoji: picked.map(([e]) => e), names: picked.map(([, n]) => n), text: picked.map(([e]) => e).join(' ') };
}

/** Five emoji from the first 30 bits of SHA-256("sigil-pictogram\0" || server_id), with the given crypto. */
export async function pictogramWith(crypto: SigilCrypto, serverId: string): Promise<Pictogram> {
  return pictogramFromDigest(await crypto.sha256(pictogramInput(serverId)));
}
