// Builds the browser front ends (web approver and operator console) into packages/server/dist/public:
// type-checks them, then bundles each entry with esbuild into one small ES module. Run by `npm run build`.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = fileURLToPath(new URL('.', import.meta.url));
const outdir = fileURLToPath(new URL('../dist/public/', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

try {
  execFileSync(process.execPath, [tsc, '-p', `${here}tsconfig.json`], { stdio: 'inherit' });
  execFileSync(process.execPath, [tsc, '-p', `${here}pwa/tsconfig.sw.json`], { stdio: 'inherit' });
} catch {
  console.error('web front end: type errors (above)');
  process.exit(1);
}
mkdirSync(outdir, { recursive: true });
const common = {
  outdir,
  bundle: true,
  platform: 'browser',
  target: ['es2022', 'chrome111', 'safari16.4', 'firefox119'],
  minify: true,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
};
const result = await build({
  ...common,
  entryPoints: { approve: `${here}approve.ts`, console: `${here}console.ts`, sigil: `${here}sigil.css` },
  format: 'esm',
});
// The service worker is a classic script (not every browser runs module workers).
const worker = await build({ ...common, entryPoints: { sw: `${here}pwa/sw.ts` }, format: 'iife' });
Object.assign(result.metafile.outputs, worker.metafile.outputs);
const sizes = Object.entries(result.metafile.outputs).map(
  ([file, { bytes }]) => `${file.split('/').pop()} ${(bytes / 1024).toFixed(1)} KiB`,
);
console.log(`web front end: ${sizes.join(', ')}`);
