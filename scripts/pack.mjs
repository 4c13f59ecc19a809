// `npm run pack` (after the build): an npm tarball per package, all in one folder (default
// ./packs), ready for `npm install ./packs/sigilauth-….tgz` or `npm install -g`.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';

const destination = resolve(process.argv[2] ?? 'packs');
mkdirSync(destination, { recursive: true });
const npm = process.env.npm_execpath ? [process.execPath, process.env.npm_execpath] : ['npm'];
const packed = JSON.parse(
  execFileSync(npm[0], [...npm.slice(1), 'pack', '--workspaces', '--json', '--pack-destination', destination], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }),
);
for (const { filename, size } of packed) console.log(`${destination}/${filename}  (${(size / 1024).toFixed(0)} KiB)`);
