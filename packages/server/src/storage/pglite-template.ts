import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { migrate, migrationsDigest } from './migrate.js';
import { pgliteDatabase } from './pglite.js';

/**
 * A new embedded store needs a PostgreSQL cluster and the schema, and initdb inside WebAssembly
 * takes several seconds (the post-bootstrap SQL scripts run in the interpreter-grade first tier of
 * the WASM compiler), the migrations most of another second. Neither depends on the installation,
 * so both are made once, at build time, by this module (`node dist/storage/pglite-template.js`),
 * and unpacked into each new data directory instead (PGlite's loadDataDir). The template holds
 * no data: no organisation, key or identity. Without a template, or with one made by another
 * PGlite build or from other migrations, a new store runs initdb and the migrations as before.
 */
// The template lives in the package's dist/ whether this module runs from dist/storage or, in the
// tests, from src/storage: the sources then open new stores the way an installed server does.
export const TEMPLATE_FILE = fileURLToPath(new URL('../../dist/pgdata-template.tar.gz', import.meta.url));
const STAMP_FILE = fileURLToPath(new URL('../../dist/pgdata-template.json', import.meta.url));

/** What a template is made from: the PGlite build (the sizes of its WASM and data files) and the migrations. */
function templateStamp(): string {
  const sizes = ['pglite.wasm', 'initdb.wasm', 'pglite.data'].map(
    (f) => statSync(fileURLToPath(import.meta.resolve(`@electric-sql/pglite/${f}`))).size,
  );
  return `pglite-files:${sizes.join(',')};migrations:${migrationsDigest()}`;
}

/**
 * The template for this PGlite build and these migrations, or null when there is none or it was
 * made from others.
 * (SIGIL_PGLITE_TEMPLATE=off makes openPglite skip it and run initdb.)
 */
export function loadTemplate(): Blob | null {
  try {
    if (!existsSync(TEMPLATE_FILE) || !existsSync(STAMP_FILE)) return null;
    const stamp = JSON.parse(readFileSync(STAMP_FILE, 'utf8')) as { build?: string };
    if (stamp.build !== templateStamp()) return null;
    return new Blob([readFileSync(TEMPLATE_FILE)]);
  } catch {
    return null;
  }
}

/**
 * Runs initdb in memory with PGlite's defaults (as a new data directory would get), applies the
 * migrations, and writes the template.
 */
export async function writeTemplate(): Promise<{ file: string; bytes: number }> {
  const pg = await PGlite.create();
  try {
    await migrate(pgliteDatabase(pg));
    await pg.query('CHECKPOINT');
    const tarball = await pg.dumpDataDir('gzip');
    const bytes = Buffer.from(await tarball.arrayBuffer());
    writeFileSync(TEMPLATE_FILE, bytes);
    writeFileSync(STAMP_FILE, `${JSON.stringify({ build: templateStamp(), created_at: new Date().toISOString() })}\n`);
    return { file: TEMPLATE_FILE, bytes: bytes.length };
  } finally {
    await pg.close();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (loadTemplate()) {
    process.stdout.write(`${TEMPLATE_FILE} is up to date\n`);
  } else {
    const { file, bytes } = await writeTemplate();
    process.stdout.write(`wrote ${file} (${(bytes / 1048576).toFixed(1)} MiB)\n`);
  }
}
