/**
 * What makes the web approver installable: its manifest (named after the organisation), icons,
 * and the service worker, served from /approve/ so that its scope covers every approver page.
 */
import { deflateSync } from 'node:zlib';

export const THEME_COLOR = '#0a58ca';
const BACKGROUND = [0x0a, 0x58, 0xca] as const;

export function approverManifest(orgName: string | null) {
  const name = orgName ? `${orgName} approvals` : 'Sigil approver';
  return {
    name,
    short_name: 'Sigil',
    description: 'See and decide on approval requests, confirmed with your passkey.',
    id: '/approve',
    start_url: '/approve',
    scope: '/approve',
    display: 'standalone',
    background_color: '#ffffff',
    theme_color: THEME_COLOR,
    icons: [
      { src: '/approve/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
      { src: '/approve/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
      { src: '/approve/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
    ],
  };
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(data: Buffer): number {
  let c = 0xffffffff;
  for (const byte of data) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** The icon: a seal (a white ring around a white dot) on the theme colour, full bleed so it can be masked. */
export function iconPng(size: number): Buffer {
  const rows: Buffer[] = [];
  const c = (size - 1) / 2;
  for (let y = 0; y < size; y++) {
    const row = Buffer.alloc(1 + size * 3);
    for (let x = 0; x < size; x++) {
      const r = Math.hypot(x - c, y - c) / size;
      const white = (r > 0.22 && r < 0.3) || r < 0.1;
      const at = 1 + x * 3;
      row[at] = white ? 255 : BACKGROUND[0];
      row[at + 1] = white ? 255 : BACKGROUND[1];
      row[at + 2] = white ? 255 : BACKGROUND[2];
    }
    rows.push(row);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.writeUInt8(8, 8); // bit depth
  header.writeUInt8(2, 9); // truecolour
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
