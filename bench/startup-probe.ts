/**
 * Where the embedded store's start-up time goes, measured in a fresh process: module import (the
 * built server, as `sigil serve` loads it, so a new store comes from the build-time template when
 * there is one), WebAssembly compile of pglite.wasm / initdb.wasm, opening a new data directory,
 * migrations, close, and opening an existing one. Prints one JSON line.
 * Usage: node --import tsx bench/startup-probe.ts DIR
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const dir = process.argv[2];
if (!dir) throw new Error('usage: startup-probe.ts DIR');
const lap = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
  const t = performance.now();
  const r = await fn();
  return [r, Math.round(performance.now() - t)];
};
const sinceStart = Math.round(performance.now());
const [, importMs] = await lap(async () => {
  await import('../packages/server/dist/storage/pglite.js');
  await import('../packages/server/dist/storage/migrate.js');
});
const require = createRequire(import.meta.url);
const wasm = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<unknown> } }).WebAssembly;
const pgliteDist = dirname(require.resolve('@electric-sql/pglite'));
const [, compilePgliteMs] = await lap(() => wasm.compile(readFileSync(join(pgliteDist, 'pglite.wasm'))));
const [, compileInitdbMs] = await lap(() => wasm.compile(readFileSync(join(pgliteDist, 'initdb.wasm'))));
const { openPglite } = await import('../packages/server/dist/storage/pglite.js');
const { migrate } = await import('../packages/server/dist/storage/migrate.js');
const [db, openNewMs] = await lap(() => openPglite(dir));
const [, migrateNewMs] = await lap(() => migrate(db));
const [, closeMs] = await lap(() => db.close());
const [db2, openExistingMs] = await lap(() => openPglite(dir));
const [, migrateExistingMs] = await lap(() => migrate(db2));
await db2.close();
process.stdout.write(
  `${JSON.stringify({ processStartToProbeMs: sinceStart, importMs, compilePgliteMs, compileInitdbMs, openNewMs, migrateNewMs, closeMs, openExistingMs, migrateExistingMs })}\n`,
);
