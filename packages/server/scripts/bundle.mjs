// Bundles the `sigil` command (dist/cli.js and everything it imports) into dist/sigil/, which
// bin/sigil.js runs: loading a few files instead of about two thousand modules saves a few hundred
// milliseconds at every start. The command's own code is one small file; the server's code is
// loaded only by the commands that run it, so `sigil serve` starts the store's thread first.
// Run by `npm run build`, after tsc.
//
// Each module keeps its own import.meta.url: it is rewritten to the module's place relative to the
// bundle, so files found beside a module (migrations, web assets, the store's worker thread and
// its procedures, which stay separate modules) are found as before, in the checkout and in an
// installed package alike.
import { rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const outdir = `${dist}sigil/`;

/** import.meta.url of a module in dist/, as an expression evaluated in the bundle. */
const ownImportMetaUrl = {
  name: 'own-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /[\\/]dist[\\/].*\.js$/ }, async ({ path }) => {
      if (!path.startsWith(dist)) return undefined;
      const source = await readFile(path, 'utf8');
      const fromBundle = relative(outdir, path).split(sep).join('/');
      const url = `new URL(${JSON.stringify(`./${fromBundle}`)}, import.meta.url).href`;
      return { contents: source.replaceAll('import.meta.url', url), loader: 'js', resolveDir: dirname(path) };
    });
  },
};

rmSync(outdir, { recursive: true, force: true });
const result = await build({
  entryPoints: [`${dist}cli.js`],
  outdir,
  splitting: true,
  chunkNames: 'chunk-[hash]',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20.11',
  // The embedded store's own package finds its WebAssembly beside itself; the rest are optional
  // native add-ons and drivers that are loaded only when present.
  external: ['@electric-sql/pglite', 'pg-native', 'pg-cloudflare', 'bufferutil', 'utf-8-validate', 'cloudflare:sockets'],
  // CommonJS dependencies call require(); in an ES module it has to be made.
  banner: { js: "import { createRequire as sigilCreateRequire } from 'node:module'; const require = sigilCreateRequire(import.meta.url);" },
  plugins: [ownImportMetaUrl],
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
});
const inputs = Object.keys(result.metafile.inputs).length;
const outputs = Object.values(result.metafile.outputs);
const mib = outputs.reduce((sum, { bytes }) => sum + bytes, 0) / 1024 / 1024;
console.log(`sigil command: ${inputs} modules in ${outputs.length} files in dist/sigil/ (${mib.toFixed(1)} MiB)`);
