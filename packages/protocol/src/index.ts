export * from './jcs.js';
export * from './keys.js';
export * from './signing.js';
export * from './pictogram.js';
export * from './mpa.js';
export * from './messages.js';
export * from './webhooks.js';
export * from './audit.js';
