export { startServer, type RunningServer, type ServerConfig } from './server.js';
export { buildApp } from './app.js';
export { openStorage } from './storage/open.js';
export type { Database, Queryable } from './storage/database.js';
export { evaluate, type EngineEvent, type EnginePolicy, type EngineState } from './mpa/engine.js';
export { verifyAuditLog, type VerifyReport, type VerifyProblem } from './audit/verify.js';
export { DEFAULT_WEBHOOK_CONFIG, type WebhookConfig } from './webhooks/config.js';
