import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import { loadServerIdentity, type ServerIdentity } from './identity/server-identity.js';
import { createMetrics } from './metrics.js';
import { startExpirySweeper } from './mpa/expiry-sweeper.js';
import type { Database } from './storage/database.js';
import { openStorage } from './storage/open.js';
import { createApiKey } from './tenants/api-keys.js';
import { createTenant, defaultTenant, renameTenant } from './tenants/tenants.js';

export interface ServerConfig {
  host: string;
  port: number;
  dataDir: string;
  databaseUrl?: string | undefined;
  dbPoolSize?: number;
  orgName?: string | undefined;
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
  logLevel?: string;
  pairingRateLimit?: number;
  clock?: () => number;
}

export interface RunningServer {
  url: string;
  app: FastifyInstance;
  db: Database;
  identity: ServerIdentity;
  /** Set only when this start created the store's first organisation. */
  firstApiKey: string | null;
  close(): Promise<void>;
}

/** Makes sure an empty store has an organisation and one API key; returns the key if it made one. */
async function initialise(db: Database, orgName: string | undefined): Promise<string | null> {
  const existing = await defaultTenant(db);
  if (existing) {
    if (orgName && orgName !== existing.name) await renameTenant(db, existing.id, orgName);
    return null;
  }
  const tenant = await createTenant(db, orgName ?? 'Sigil');
  return (await createApiKey(db, tenant.id, 'default', 'live')).key;
}

export async function startServer(config: ServerConfig): Promise<RunningServer> {
  const db = await openStorage({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.dbPoolSize ?? 10 });
  const clock = config.clock ?? Date.now;
  try {
    const identity = await loadServerIdentity(db);
    const firstApiKey = await initialise(db, config.orgName);
    const https = config.tlsCert && config.tlsKey ? { cert: readFileSync(config.tlsCert), key: readFileSync(config.tlsKey) } : null;
    const { app, gateway } = await buildApp({
      db,
      identity,
      metrics: createMetrics(db),
      clock,
      logger: { level: config.logLevel ?? 'info' },
      https,
      ...(config.pairingRateLimit ? { pairingRateLimit: config.pairingRateLimit } : {}),
    });
    const stopSweeper = startExpirySweeper(db, clock, app.log);
    await app.listen({ host: config.host, port: config.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    let closing: Promise<void> | null = null;
    return {
      url: `${https ? 'https' : 'http'}://${host}:${port}`,
      app,
      db,
      identity,
      firstApiKey,
      close: () =>
        (closing ??= (async () => {
          await stopSweeper();
          await gateway.stop();
          await app.close();
          await db.close();
        })()),
    };
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
}
